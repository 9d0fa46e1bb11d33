using System.Diagnostics;
using Atelier.Scaffold;
using Atelier.Tests.Transport;

namespace Atelier.Tests.Scaffold;

/// <summary>The unified diff New-ServiceModule -WhatIf shows: what diff -u prints, and what git apply accepts.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class LineDiffTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void An_inserted_block_reads_like_diff_u()
    {
        var old = string.Join('\n', Enumerable.Range(1, 20).Select(i => $"line {i}")) + "\n";
        var lines = old.Split('\n').ToList();
        lines.InsertRange(10, ["  added one", "  added two"]);
        var changed = string.Join('\n', lines);

        Assert.Equal(
            """
            --- a/machines/x/default.nix
            +++ b/machines/x/default.nix
            @@ -8,6 +8,8 @@
             line 8
             line 9
             line 10
            +  added one
            +  added two
             line 11
             line 12
             line 13

            """.Replace("\r", string.Empty, StringComparison.Ordinal),
            LineDiff.Unified(old, changed, "machines/x/default.nix"));
    }

    [Fact]
    public void A_new_file_is_all_added_from_dev_null()
    {
        Assert.Equal("--- /dev/null\n+++ b/a.nix\n@@ -0,0 +1,2 @@\n+one\n+two\n", LineDiff.Unified(null, "one\ntwo\n", "a.nix"));
    }

    [Fact]
    public void Equal_texts_have_no_diff()
    {
        Assert.Equal(string.Empty, LineDiff.Unified("a\nb\n", "a\nb\n", "x"));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Git_apply_turns_the_old_text_into_the_new_one(int seed)
    {
        var random = new Random(seed);
        var old = Enumerable.Range(0, 60).Select(i => $"l{random.Next(8)}").ToList();
        var changed = new List<string>(old);
        for (var k = 0; k < 8; k++)
        {
            var at = random.Next(changed.Count);
            switch (random.Next(3))
            {
                case 0: changed.Insert(at, $"new {k}"); break;
                case 1: changed.RemoveAt(at); break;
                default: changed[at] = $"edited {k}"; break;
            }
        }

        var oldText = string.Join('\n', old) + "\n";
        var newText = string.Join('\n', changed) + "\n";
        var file = _folder.Write("f.txt", oldText);
        var patch = _folder.Write("change.patch", LineDiff.Unified(oldText, newText, "f.txt"));

        var git = Process.Start(new ProcessStartInfo("git", ["apply", "--recount", "--unsafe-paths", "--directory=" + _folder.Path[1..], "-p1", patch])
        {
            WorkingDirectory = "/",
            RedirectStandardError = true,
        })!;
        var error = git.StandardError.ReadToEnd();
        git.WaitForExit();

        Assert.True(git.ExitCode == 0, error);
        Assert.Equal(newText, File.ReadAllText(file));
    }

    [Fact]
    public void A_planned_file_writes_atomically_keeps_its_mode_and_refuses_a_file_changed_meanwhile()
    {
        var path = _folder.Write("repo/machines/x/default.nix", "{ }\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);

        var plan = PlannedFile.For(path, "machines/x/default.nix", "Machine", "{ a = 1; }\n");
        Assert.Equal(FileAction.Changed, plan.Action);
        plan.Write();
        Assert.Equal("{ a = 1; }\n", File.ReadAllText(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(path));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));

        Assert.Equal(FileAction.Unchanged, PlannedFile.For(path, "m", "Machine", "{ a = 1; }\n").Action);
        var created = PlannedFile.For(_folder.Combine("repo", "new", "deep", "f.nix"), "new/deep/f.nix", "Module", "x\n");
        Assert.Equal(FileAction.Created, created.Action);
        created.Write();
        Assert.Equal("x\n", File.ReadAllText(created.Path));

        var stale = PlannedFile.For(path, "m", "Machine", "{ b = 2; }\n");
        File.WriteAllText(path, "{ edited = true; }\n");
        Assert.Equal("FileChangedMeanwhile", Assert.Throws<AtelierException>(stale.Write).ErrorId);
        Assert.Equal("{ edited = true; }\n", File.ReadAllText(path));
    }
}
