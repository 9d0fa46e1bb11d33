using Atelier.Nix;
using Atelier.Tests.Transport;

namespace Atelier.Tests.Nix;

/// <summary><see cref="NixValue"/>, checked by reading its literals back with the real Nix and with <see cref="NixLexer"/>.</summary>
public sealed class NixValueTests
{
    public static TheoryData<string> HostileStrings => Hostile.Data();

    [NixTheory]
    [MemberData(nameof(HostileStrings))]
    public void String_evaluates_back_to_exactly_the_value(string value)
    {
        using var folder = new TempFolder();
        var file = NixTool.WriteParsed(folder, "value.nix", $"{{ v = {NixValue.String(value)}; w = \"{NixValue.StringBody(value)}{{x}}\"; }}\n");

        var result = NixTool.Eval("{ file }: import file", new Dictionary<string, string> { ["file"] = file });

        Assert.Equal(value, result.GetProperty("v").GetString());
        Assert.Equal(value + "{x}", result.GetProperty("w").GetString());
    }

    [Theory]
    [MemberData(nameof(HostileStrings))]
    public void The_lexer_reads_a_written_string_as_one_token_with_the_value(string value)
    {
        var tokens = NixLexer.Tokenize(NixValue.String(value));

        var token = Assert.Single(tokens);
        Assert.Equal(NixTokenKind.String, token.Kind);
        Assert.Equal(value, token.Value);
    }

    [Fact]
    public void String_escapes_only_what_Nix_needs()
    {
        Assert.Equal("\"a\\\"b\\\\c\\${d}$HOME\\n\\r\\t$\\${e}\\$\"", NixValue.String("a\"b\\c${d}$HOME\n\r\t$${e}$"));
        Assert.Equal("\"$\\${x}\"", NixValue.String("$${x}"));
        Assert.Equal("\"\"", NixValue.String(string.Empty));
        Assert.Throws<ArgumentException>(() => NixValue.String("nul\0"));
    }

    [Theory]
    [InlineData("cachet", "cachet")]
    [InlineData("hn-alerts", "hn-alerts")]
    [InlineData("_private", "_private")]
    [InlineData("it's", "it's")]
    [InlineData("true", "true")]
    [InlineData("emojibot/hackclub", "\"emojibot/hackclub\"")]
    [InlineData("a.b", "\"a.b\"")]
    [InlineData("1password", "\"1password\"")]
    [InlineData("-x", "\"-x\"")]
    [InlineData("", "\"\"")]
    [InlineData("if", "\"if\"")]
    [InlineData("in", "\"in\"")]
    [InlineData("let", "\"let\"")]
    [InlineData("rec", "\"rec\"")]
    [InlineData("with", "\"with\"")]
    [InlineData("inherit", "\"inherit\"")]
    [InlineData("assert", "\"assert\"")]
    [InlineData("then", "\"then\"")]
    [InlineData("else", "\"else\"")]
    [InlineData("or", "\"or\"")]
    [InlineData("${x}", "\"\\${x}\"")]
    [InlineData("été", "\"été\"")]
    public void AttrName_is_bare_only_for_identifiers(string name, string expected)
    {
        Assert.Equal(expected, NixValue.AttrName(name));
    }

    [NixFact]
    public void Attribute_names_and_lists_evaluate_back()
    {
        string[] names = ["cachet", "hn-alerts", "emojibot/hackclub", "if", "or", "1x", "${x}", "a.b", "été", "it's"];
        using var folder = new TempFolder();
        var text = "{\n" + string.Concat(names.Select((n, i) => $"  {NixValue.AttrName(n)} = {NixValue.Int(i)};\n"))
            + $"  list = {NixValue.List(Hostile.Values)};\n  empty = {NixValue.List([])};\n  yes = {NixValue.Bool(true)};\n  no = {NixValue.Bool(false)};\n  big = {NixValue.Int(long.MaxValue)};\n}}\n";
        var file = NixTool.WriteParsed(folder, "names.nix", text);

        var result = NixTool.Eval("{ file }: import file", new Dictionary<string, string> { ["file"] = file });

        for (var i = 0; i < names.Length; i++)
        {
            Assert.Equal(i, result.GetProperty(names[i]).GetInt32());
        }

        Assert.Equal(Hostile.Values, result.GetProperty("list").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(0, result.GetProperty("empty").GetArrayLength());
        Assert.True(result.GetProperty("yes").GetBoolean());
        Assert.False(result.GetProperty("no").GetBoolean());
        Assert.Equal(long.MaxValue, result.GetProperty("big").GetInt64());
    }

    [Fact]
    public void Comment_text_cannot_end_the_comment()
    {
        Assert.Equal("a b  c", NixValue.CommentText("a\nb\r\nc"));
        var tokens = NixLexer.Tokenize("# " + NixValue.CommentText("x\n} broken {") + "\n{ }", includeComments: true);
        Assert.Equal([NixTokenKind.Comment, NixTokenKind.Symbol, NixTokenKind.Symbol], tokens.Select(t => t.Kind));
    }

    [Fact]
    public void NixWriter_lays_out_nested_sets_and_lists()
    {
        var text = new NixWriter("  ")
            .OpenSet("a")
            .Attr("b", "1")
            .OpenList("c")
            .Item("\"x\"")
            .Close()
            .Line()
            .Comment("note\nmore")
            .Close()
            .ToString();

        Assert.Equal("  a = {\n    b = 1;\n    c = [\n      \"x\"\n    ];\n\n    # note more\n  };", text);
        Assert.Throws<InvalidOperationException>(() => new NixWriter().OpenSet("x").ToString());
        Assert.Throws<InvalidOperationException>(() => new NixWriter().Close());
    }
}
