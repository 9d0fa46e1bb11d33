using Atelier.Output;
using Atelier.Transport;

namespace Atelier.Tests.Output;

/// <summary>What <see cref="HostText"/> makes of what a host wrote: no terminal control, no workflow command, no secret.</summary>
public sealed class HostTextTests
{
    public static TheoryData<string, string, string> Controls => new()
    {
        { "colours (CSI SGR) go whole", "\u001b[31mred\u001b[0m and \u001b[1;38;5;196mbold\u001b[m", "red and bold" },
        { "cursor moves and clears go", "a\u001b[2K\u001b[1Gb\u001b[?25l", "ab" },
        { "an OSC 8 link ended by BEL goes, its text stays", "\u001b]8;;http://evil\u0007click\u001b]8;;\u0007", "click" },
        { "an OSC title ended by ST goes", "\u001b]0;pwned\u001b\\after", "after" },
        { "an unterminated OSC goes to the line's end, not beyond", "x\u001b]8;;http://evil\nnext", "x\nnext" },
        { "DCS, APC and PM strings go", "\u001bPq#0\u001b\\\u001b_apc\u001b\\\u001b^pm\u0007z", "z" },
        { "8-bit CSI and OSC go", "\u009b31mred\u009d8;;http://evil\u0007", "red" },
        { "two-character escapes go (reset, charset)", "\u001bc\u001b(Bok", "ok" },
        { "a lone ESC shows", "\u001b", "\u241b" },
        { "an ESC before a plain character shows", "a\u001b1b", "a\u241b1b" },
        { "BEL, backspace and NUL show", "ding\u0007 back\u0008 nul\u0000", "ding\u2407 back\u2408 nul\u2400" },
        { "carriage returns go", "progress 10%\rprogress 100%\r\n", "progress 10%progress 100%\n" },
        { "tabs and line feeds stay", "a\tb\nc", "a\tb\nc" },
        { "DEL shows", "x\u007f", "x\u2421" },
        { "other C1 controls show as replacement", "x\u0085y\u008dz", "x\ufffdy\ufffdz" },
        { "bidirectional overrides show as replacement", "abc\u202edcba\u2066", "abc\ufffddcba\ufffd" },
        { "plain text and Unicode are left alone", "é ß 漢字 🚀 <b>`x`</b>", "é ß 漢字 🚀 <b>`x`</b>" },
    };

    [Theory]
    [MemberData(nameof(Controls))]
    public void Terminal_control_is_removed_or_made_visible(string why, string raw, string expected)
    {
        Assert.True(expected == HostText.Default.Clean(raw), $"{why}: got '{HostText.Default.Clean(raw)}'");
        Assert.DoesNotContain(HostText.Default.Clean(raw), c => c < ' ' && c is not '\t' and not '\n');
    }

    public static TheoryData<string, string> Commands => new()
    {
        { "::error::x", "\\::error::x" },
        { "::set-output name=a::b", "\\::set-output name=a::b" },
        { "::add-mask::x", "\\::add-mask::x" },
        { "::stop-commands::abc", "\\::stop-commands::abc" },
        { "   ::warning title=t::indented", "\\   ::warning title=t::indented" },
        { "\u001b[31m::error::behind a colour", "\\::error::behind a colour" },
        { "before\n::endgroup::\nafter", "before\n\\::endgroup::\nafter" },
        { "log ##[error]old form, anywhere", "log ##\\[error]old form, anywhere" },
        { "a::b is no command", "a::b is no command" },
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public void No_line_can_act_as_a_workflow_command(string raw, string expected)
    {
        var clean = HostText.Default.Clean(raw);

        Assert.Equal(expected, clean);
        Assert.All(clean.Split('\n'), line => Assert.False(line.TrimStart().StartsWith("::", StringComparison.Ordinal), line));
        Assert.DoesNotContain("##[", clean, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Everything))]
    public void Cleaning_twice_gives_what_cleaning_once_gave(string raw)
    {
        var text = new HostText(Redaction.Parse(["hunter2secret", "/tok-[0-9]+/"]));
        var once = text.Clean(raw);

        Assert.Equal(once, text.Clean(once));
    }

    public static TheoryData<string> Everything()
    {
        var data = new TheoryData<string>();
        foreach (var row in Controls)
        {
            data.Add((string)row[1]);
        }

        foreach (var row in Commands)
        {
            data.Add((string)row[0]);
        }

        foreach (var row in RedactionTests.Shapes)
        {
            data.Add((string)row[1]);
        }

        data.Add("API_TOKEN=hunter2secret tok-123 ::error::\u001b[31m");
        return data;
    }

    [Fact]
    public void A_tail_is_cleaned_after_looking_further_back_for_a_key_block()
    {
        var output = string.Join('\n', ["building", "-----BEGIN RSA PRIVATE KEY-----", .. Enumerable.Range(0, 30).Select(i => $"MIIEow{i:D2}base64body"), "-----END RSA PRIVATE KEY-----", "\u001b[31mAPI_TOKEN=hunter2secret\u001b[0m", "::error::x", "done"]);
        var result = new CommandResult("build", 1, output, "npm ERR! \u001b]8;;http://evil\u0007boom", TimeSpan.Zero);

        var tail = result.Tail(5);

        Assert.Equal(["-----END RSA PRIVATE KEY-----", "API_TOKEN=***", "\\::error::x", "done", "npm ERR! boom"], tail.Split('\n'));
        Assert.DoesNotContain("base64body", HostText.Default.Tail(result, 40), StringComparison.Ordinal);
    }

    [Fact]
    public void Lines_that_arrive_one_at_a_time_hide_a_key_block_across_them_and_stay_one_line_each()
    {
        var cleaner = new HostText(Redaction.Parse(["hunter2secret"])).LineByLine();
        string[] raw = ["key: -----BEGIN OPENSSH PRIVATE KEY-----", "b3BlbnNzaC1rZXktdjEAAAAA", "AAAABG5vbmUAAAAEbm9uZQ", "-----END OPENSSH PRIVATE KEY----- then", "\u001b[32mok hunter2secret\u001b[0m", "::error::x"];

        var lines = raw.Select(cleaner.Next).ToArray();

        Assert.Equal(["key: -----BEGIN OPENSSH PRIVATE KEY-----", "***", "***", "-----END OPENSSH PRIVATE KEY----- then", "ok ***", "\\::error::x"], lines);
    }

    [Fact]
    public void A_key_block_that_never_ends_hides_at_most_so_many_lines()
    {
        var cleaner = HostText.Default.LineByLine();
        cleaner.Next("-----BEGIN PRIVATE KEY-----");
        var hidden = Enumerable.Range(0, LineRedactor.MaxBlockLines + 5).Select(i => cleaner.Next($"line {i}")).ToList();

        Assert.All(hidden.Take(LineRedactor.MaxBlockLines), l => Assert.Equal("***", l));
        Assert.Equal("line 404", hidden[^1]);
    }

    [Fact]
    public void Null_and_empty_give_empty()
    {
        Assert.Equal(string.Empty, HostText.Default.Clean(null));
        Assert.Null(HostText.Default.CleanOrNull(null));
        Assert.Equal(string.Empty, HostText.Default.Clean(string.Empty));
    }
}
