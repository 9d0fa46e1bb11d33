using Atelier.Shell;

namespace Atelier.Tests.Shell;

/// <summary><see cref="RemoteValue.Quote"/> and <see cref="RemoteValue.QuotePath"/>, checked by a real <c>/bin/sh</c>.</summary>
public sealed class QuotingTests
{
    /// <summary>Strings a shell would otherwise split, expand, substitute or glob.</summary>
    public static TheoryData<string> HostileStrings => new()
    {
        string.Empty,
        "plain",
        "data/app.db",
        "it's",
        "'",
        "''",
        "'\\''",
        "\"double\"",
        "$(id)",
        "$(touch /tmp/atelier-quoting-test)",
        "`id`",
        "${HOME}",
        "$HOME",
        "$1 $@ $$ $? $!",
        "a\nb",
        "\n",
        "trailing newline\n",
        "\r\n",
        "back\\slash",
        "\\",
        "\\n\\t\\\\",
        "*",
        "?",
        "[a-z]*",
        "/etc/*",
        "~",
        "~/x",
        "~root",
        "a=~/x",
        "-n",
        "--",
        "a b  c",
        " leading and trailing ",
        "\t",
        "é日本🙂",
        "a;b|c&d>e<f",
        "#comment",
        "!",
        "{a,b}",
        "x=y",
        "%s %d %%",
        "a\u0001b",
    };

    [Theory]
    [MemberData(nameof(HostileStrings))]
    public void A_real_shell_gives_back_exactly_the_quoted_string(string value)
    {
        var result = Sh.Run("printf %s " + RemoteValue.Quote(value));

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(string.Empty, result.Error);
        Assert.Equal(value, result.Output);
    }

    [Theory]
    [MemberData(nameof(HostileStrings))]
    public void A_quoted_string_stays_one_argument(string value)
    {
        var result = Sh.Run("printf '%s|' " + RemoteValue.Quote(value) + " " + RemoteValue.Quote(value));

        Assert.Equal(value + "|" + value + "|", result.Output);
    }

    [Theory]
    [InlineData("data/app.db")]
    [InlineData("abc123")]
    [InlineData("user@host:22")]
    public void A_plain_word_is_left_bare(string value)
    {
        Assert.Equal(value, RemoteValue.Quote(value));
    }

    [Fact]
    public void QuotePath_keeps_a_leading_tilde_meaning_home()
    {
        using var home = new Transport.TempFolder();
        var environment = new Dictionary<string, string> { ["HOME"] = home.Path };

        var result = Sh.Run("printf %s " + RemoteValue.QuotePath("~/data/x.db"), environment: environment);

        Assert.Equal(home.Path + "/data/x.db", result.Output);
    }

    [Fact]
    public void QuotePath_keeps_a_home_with_spaces_and_dollars_in_one_piece()
    {
        const string home = "/tmp/my home/$(id)/`id`";
        var environment = new Dictionary<string, string> { ["HOME"] = home };

        var result = Sh.Run("printf '%s|' " + RemoteValue.QuotePath("~/data/x.db") + " " + RemoteValue.QuotePath("~"), environment: environment);

        Assert.Equal(home + "/data/x.db|" + home + "|", result.Output);
    }

    [Theory]
    [InlineData("/srv/app/x.db")]
    [InlineData("data/x.db")]
    [InlineData("../x.db")]
    [InlineData("/var/lib/a+b@c%d=e:f,g.db")]
    public void QuotePath_leaves_other_paths_as_they_are(string path)
    {
        var result = Sh.Run("printf %s " + RemoteValue.QuotePath(path), environment: new Dictionary<string, string> { ["HOME"] = "/nowhere" });

        Assert.Equal(path, result.Output);
    }

    [Theory]
    [InlineData("$(id)")]
    [InlineData("~user/x")]
    [InlineData("-rf")]
    [InlineData("a b")]
    public void QuotePath_refuses_what_Path_refuses(string path)
    {
        Assert.Throws<RemoteValueException>(() => RemoteValue.QuotePath(path));
    }
}
