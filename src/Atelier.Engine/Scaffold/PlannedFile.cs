using System.Text;

namespace Atelier.Scaffold;

/// <summary>What writing a file does (or did): creates it, changes it, or leaves it as it is.</summary>
public static class FileAction
{
    public const string Created = nameof(Created);
    public const string Changed = nameof(Changed);
    public const string Unchanged = nameof(Unchanged);
}

/// <summary>
/// One file a scaffolding cmdlet writes: its path, what it holds now (null when it does not exist) and what it will
/// hold. Planning reads; only <see cref="Write"/> touches the disk.
/// </summary>
public sealed class PlannedFile
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private PlannedFile(string path, string displayPath, string kind, string? oldText, string newText)
    {
        Path = path;
        DisplayPath = displayPath;
        Kind = kind;
        OldText = oldText;
        NewText = newText;
    }

    /// <summary>The file's full path.</summary>
    public string Path { get; }

    /// <summary>The path shown to the user and in diffs (relative to its repository).</summary>
    public string DisplayPath { get; }

    /// <summary>What the file is (e.g. <c>Module</c>, <c>Machine</c>, <c>Workflow</c>).</summary>
    public string Kind { get; }

    public string? OldText { get; }

    public string NewText { get; }

    /// <summary><see cref="FileAction.Created"/>, <see cref="FileAction.Changed"/> or <see cref="FileAction.Unchanged"/>.</summary>
    public string Action => OldText is null ? FileAction.Created : OldText == NewText ? FileAction.Unchanged : FileAction.Changed;

    /// <summary>The change as a unified diff; empty when unchanged.</summary>
    public string Diff => LineDiff.Unified(OldText, NewText, DisplayPath);

    /// <summary>Plans <paramref name="newText"/> for the file at <paramref name="path"/>, reading what it holds now.</summary>
    public static PlannedFile For(string path, string displayPath, string kind, string newText)
    {
        var full = System.IO.Path.GetFullPath(path);
        return new PlannedFile(full, displayPath, kind, ReadOrNull(full), newText);
    }

    /// <summary>The file's current text, or null when there is none.</summary>
    public static string? ReadOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>
    /// Writes the new text (nothing when unchanged): creates the folder, writes a temporary file beside it and renames
    /// it over the old one, so a reader never sees half a file. An existing file keeps its mode.
    /// </summary>
    /// <exception cref="AtelierException"><c>FileChangedMeanwhile</c> when the file no longer holds what was planned against.</exception>
    public void Write()
    {
        if (Action == FileAction.Unchanged)
        {
            return;
        }

        if (ReadOrNull(Path) != OldText)
        {
            throw new AtelierException("FileChangedMeanwhile", FailureKind.ResourceBusy, $"{Path} changed while it was being planned; run the command again.");
        }

        var folder = System.IO.Path.GetDirectoryName(Path)!;
        Directory.CreateDirectory(folder);
        var temporary = System.IO.Path.Join(folder, $".{System.IO.Path.GetFileName(Path)}.{Environment.ProcessId}.tmp");
        try
        {
            File.WriteAllText(temporary, NewText, Utf8);
            if (OldText is not null && !OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temporary, File.GetUnixFileMode(Path));
            }

            File.Move(temporary, Path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
