namespace Atelier;

/// <summary>
/// The files Atelier writes on this machine that hold data (downloaded and local snapshots, the deploy history):
/// owner-only from the moment they exist (0600, folders 0700; created with the mode, never changed to it after), and
/// never created over a file that is already there. On Windows, where there are no Unix modes, the file or folder
/// gets the inherited ACL.
/// </summary>
public static class PrivateFile
{
    /// <summary>0600: read and write for the owner only.</summary>
    public const UnixFileMode Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>0700: the owner only.</summary>
    public const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Creates a new, empty file with mode 0600 and opens it for writing; fails when any file is already there.</summary>
    /// <exception cref="IOException">Something is already at <paramref name="path"/>, or it cannot be created.</exception>
    public static FileStream CreateNew(string path, bool useAsync = false)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.None,
            BufferSize = 1 << 16,
            Options = useAsync ? FileOptions.Asynchronous : FileOptions.None,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = Mode;
        }

        return new FileStream(path, options);
    }

    /// <summary>Creates a folder and any missing parents with mode 0700; an existing folder keeps its mode.</summary>
    public static void CreateFolder(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, FolderMode);
        }
    }

    /// <summary>
    /// A name for a temporary file beside <paramref name="path"/> (same folder, so a rename puts it in place in one
    /// step): hidden, unique, and ending in <c>.partial</c>. Nothing is created.
    /// </summary>
    public static string TemporaryBeside(string path)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        return Path.Combine(folder, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.partial");
    }
}
