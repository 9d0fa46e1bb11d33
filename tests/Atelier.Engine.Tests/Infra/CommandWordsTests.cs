using Atelier.Infra;
using Atelier.Tests.Shell;

namespace Atelier.Tests.Infra;

/// <summary>Command text split into words as a POSIX shell would, checked against a real shell.</summary>
public sealed class CommandWordsTests
{
    [Theory]
    [InlineData("deploy", new[] { "deploy" })]
    [InlineData("  nix run github:serokell/deploy-rs --  ", new[] { "nix", "run", "github:serokell/deploy-rs", "--" })]
    [InlineData("nix run 'github:serokell/deploy-rs?ref=master' --", new[] { "nix", "run", "github:serokell/deploy-rs?ref=master", "--" })]
    [InlineData("\"/opt/deploy rs/bin/deploy\" --debug-logs", new[] { "/opt/deploy rs/bin/deploy", "--debug-logs" })]
    [InlineData("a\\ b c", new[] { "a b", "c" })]
    [InlineData("x\"y z\"'w'", new[] { "xy zw" })]
    [InlineData("say \"a \\\"quoted\\\" \\$HOME\"", new[] { "say", "a \"quoted\" $HOME" })]
    [InlineData("'' x", new[] { "", "x" })]
    [InlineData("keep $HOME literal", new[] { "keep", "$HOME", "literal" })]
    public void Words_are_split_like_a_shell_splits_them(string text, string[] words)
    {
        Assert.Equal(words, CommandWords.Split(text));
        if (!text.Contains('$', StringComparison.Ordinal) || text.Contains("\\$", StringComparison.Ordinal))
        {
            // A real shell gives the same words (printf prints each between brackets).
            var shell = Sh.Run("eval \"set -- $1\"; for w in \"$@\"; do printf '[%s]' \"$w\"; done", [text]);
            Assert.Equal(string.Concat(words.Select(w => $"[{w}]")), shell.Output);
        }
    }

    [Theory]
    [InlineData("nix run 'github:x --", "has a single quote at position 9 that is not closed")]
    [InlineData("deploy \"--x", "has a double quote at position 8 that is not closed")]
    [InlineData("deploy \\", "ends with a backslash")]
    [InlineData("   ", "holds no command")]
    public void Broken_text_is_refused(string text, string problem)
    {
        var error = Assert.Throws<FormatException>(() => CommandWords.Split(text));

        Assert.Equal(problem, error.Message);
    }

    [Fact]
    public void Joined_words_read_back_as_the_same_words()
    {
        string[] words = ["/usr/bin/deploy", "--ssh-opts=-p 2222 -i /k", ".#a", "--", "it's", ""];

        var line = CommandWords.Join(words);

        Assert.Equal(words, CommandWords.Split(line));
        Assert.Equal("[/usr/bin/deploy][--ssh-opts=-p 2222 -i /k][.#a][--][it's][]", Sh.Run($"for w in {line}; do printf '[%s]' \"$w\"; done").Output);
    }
}
