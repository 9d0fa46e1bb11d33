using Atelier.Output;

namespace Atelier.Tests.Output;

/// <summary>
/// Workflow commands as the runner reads them. <see cref="RunnerLog"/> parses a log as actions/runner does (the v2
/// <c>::cmd::</c> form at a line's start after blanks, the v1 <c>##[cmd]</c> form anywhere, <c>stop-commands</c> and
/// its resume token), so the tests see what a runner would obey.
/// </summary>
public sealed class WorkflowCommandsTests
{
    [Fact]
    public void Host_lines_are_fenced_and_none_of_them_is_obeyed()
    {
        string[] hostile = ["::error::x", "::set-output name=a::b", "::add-mask::x", "::stop-commands::abc", "::abc::", "##[error]old form", "plain"];

        var lines = WorkflowCommands.Fenced(hostile, HostText.Default).ToList();

        Assert.StartsWith("::stop-commands::atelier-", lines[0], StringComparison.Ordinal);
        Assert.Equal($"::{lines[0]["::stop-commands::".Length..]}::", lines[^1]);
        Assert.Equal(hostile.Length + 2, lines.Count);
        Assert.Empty(RunnerLog.Obeyed(lines));
    }

    [Fact]
    public void Each_fence_has_its_own_token_and_nothing_is_fenced_for_no_lines()
    {
        var first = WorkflowCommands.Fenced(["a"], HostText.Default).First();
        var second = WorkflowCommands.Fenced(["a"], HostText.Default).First();

        Assert.NotEqual(first, second);
        Assert.Empty(WorkflowCommands.Fenced([], HostText.Default));
    }

    [Fact]
    public void A_line_of_several_lines_stays_inside_the_fence_line_by_line()
    {
        var lines = WorkflowCommands.Fenced(["one\n::error::two\r\nthree"], HostText.Default).ToList();

        Assert.Equal(["one", "\\::error::two", "three"], lines[1..^1]);
    }

    [Theory]
    [InlineData("100% done\r\nnext\nlast", "100%25 done%0D%0Anext%0Alast")]
    [InlineData("a::b, c", "a::b, c")]
    public void Data_is_escaped_as_the_runner_unescapes_it(string data, string escaped) =>
        Assert.Equal(escaped, WorkflowCommands.EscapeData(data));

    [Fact]
    public void Properties_escape_colons_and_commas_too()
    {
        Assert.Equal("a%3A b%2C c%25%0A", WorkflowCommands.EscapeProperty("a: b, c%\n"));
        Assert.Equal("::error title=Deploy of web%3A x%2C y::line%0Aline", WorkflowCommands.Error("Deploy of web: x, y", "line\nline"));
    }

    [Fact]
    public void Each_value_and_each_line_of_one_is_masked_once()
    {
        var masks = WorkflowCommands.Masks(["hunter2secret", "two\nlines", "hunter2secret", "  "]).ToList();

        Assert.Equal(["::add-mask::hunter2secret", "::add-mask::two%0Alines", "::add-mask::two", "::add-mask::lines"], masks);
    }
}

/// <summary>Reads a log as the Actions runner does and says which lines it would act on.</summary>
internal static class RunnerLog
{
    /// <summary>The lines (after the stop-commands lines and their resumes) that the runner would take as a command.</summary>
    public static IReadOnlyList<string> Obeyed(IEnumerable<string> lines, params string[] allowed)
    {
        var obeyed = new List<string>();
        string? stopToken = null;
        foreach (var line in lines)
        {
            var command = CommandOf(line);
            if (command is null)
            {
                continue;
            }

            if (stopToken is not null)
            {
                if (string.Equals(command, stopToken, StringComparison.OrdinalIgnoreCase))
                {
                    stopToken = null;
                }

                continue;
            }

            if (command == "stop-commands")
            {
                var data = line.TrimStart()[(line.TrimStart().IndexOf("::", 2, StringComparison.Ordinal) + 2)..];
                stopToken = data;
                if (!data.StartsWith("atelier-", StringComparison.Ordinal))
                {
                    obeyed.Add(line);
                }

                continue;
            }

            if (!allowed.Contains(command))
            {
                obeyed.Add(line);
            }
        }

        return obeyed;
    }

    /// <summary>The command a line holds: v2 at its start after blanks, else v1 anywhere; null for none.</summary>
    public static string? CommandOf(string line)
    {
        var trimmed = line.TrimStart();
        if (trimmed.StartsWith("::", StringComparison.Ordinal))
        {
            var end = trimmed.IndexOf("::", 2, StringComparison.Ordinal);
            if (end > 2)
            {
                var info = trimmed[2..end];
                return info.Split(' ')[0];
            }
        }

        var v1 = line.IndexOf("##[", StringComparison.Ordinal);
        if (v1 >= 0 && line.IndexOf(']', v1) is var close and > 0)
        {
            return line[(v1 + 3)..close].Split(' ')[0];
        }

        return null;
    }
}
