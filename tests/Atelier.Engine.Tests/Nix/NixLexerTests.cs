using Atelier.Nix;

namespace Atelier.Tests.Nix;

/// <summary><see cref="NixLexer"/>: Nix's own rules for strings, comments, paths and URIs.</summary>
public sealed class NixLexerTests
{
    private static List<(NixTokenKind Kind, string Text)> Lex(string source, bool comments = false) =>
        [.. NixLexer.Tokenize(source, comments).Select(t => (t.Kind, t.Text))];

    [Fact]
    public void Comments_hide_what_they_hold()
    {
        var source = "a # b = { \"\n/* c } ''\n*/ d /**/ e";

        Assert.Equal([(NixTokenKind.Identifier, "a"), (NixTokenKind.Identifier, "d"), (NixTokenKind.Identifier, "e")], Lex(source));
        Assert.Equal(
            [
                (NixTokenKind.Identifier, "a"),
                (NixTokenKind.Comment, "# b = { \""),
                (NixTokenKind.Comment, "/* c } ''\n*/"),
                (NixTokenKind.Identifier, "d"),
                (NixTokenKind.Comment, "/**/"),
                (NixTokenKind.Identifier, "e"),
            ],
            Lex(source, comments: true));
    }

    [Theory]
    [InlineData("\"a\"", "a")]
    [InlineData("\"a\\\"b\"", "a\"b")]
    [InlineData("\"\\n\\r\\t\\x\\\\\"", "\n\r\tx\\")]
    [InlineData("\"$${x}\"", "$${x}")]
    [InlineData("\"\\${x}\"", "${x}")]
    [InlineData("\"$\"", "$")]
    [InlineData("\"$$\"", "$$")]
    [InlineData("\"a$\\\"\"", "a$\"")]
    [InlineData("\"}{ ; = # /*\"", "}{ ; = # /*")]
    public void A_string_without_antiquotation_has_its_value(string source, string value)
    {
        var token = Assert.Single(NixLexer.Tokenize(source));
        Assert.Equal(NixTokenKind.String, token.Kind);
        Assert.Equal(value, token.Value);
    }

    [Theory]
    [InlineData("\"a ${b} c\"")]
    [InlineData("\"${ { x = \"}\"; }.x }\"")]
    [InlineData("\"${ \"${ \"${ \"deep }\" }\" }\" }\"")]
    [InlineData("\"$$${x}\"")]
    [InlineData("\"${ ''a } ${\"}\"} b'' }\"")]
    [InlineData("\"${ /* } */ x # }\n }\"")]
    public void Antiquotations_nest_inside_one_string_token(string source)
    {
        var tokens = NixLexer.Tokenize(source + " ;");
        Assert.Equal(2, tokens.Count);
        Assert.Equal(NixTokenKind.String, tokens[0].Kind);
        Assert.Equal(source, tokens[0].Text);
        Assert.Null(tokens[0].Value);
    }

    [Theory]
    [InlineData("''a } b''")]
    [InlineData("''a ''${x} b''")]
    [InlineData("''a ''' b''")]
    [InlineData("''a ''\\n b''")]
    [InlineData("''a ''\\'' b''")]
    [InlineData("''a $${x} b''")]
    [InlineData("''a ${ \"''\" } b''")]
    [InlineData("''a ${ ''inner'' } b''")]
    [InlineData("''$''")]
    [InlineData("'''''$'''''$''")]
    [InlineData("''\n  port = 9999;\n  }\n''")]
    public void An_indented_string_is_one_token(string source)
    {
        var tokens = NixLexer.Tokenize(source + " ;");
        Assert.Equal(2, tokens.Count);
        Assert.Equal(NixTokenKind.IndentedString, tokens[0].Kind);
        Assert.Equal(source, tokens[0].Text);
    }

    [Theory]
    [InlineData("./a", NixTokenKind.Path)]
    [InlineData("../../secrets/cachet.age", NixTokenKind.Path)]
    [InlineData("/etc/nixos", NixTokenKind.Path)]
    [InlineData("~/x", NixTokenKind.Path)]
    [InlineData("<nixpkgs>", NixTokenKind.Path)]
    [InlineData("<nixpkgs/lib>", NixTokenKind.Path)]
    [InlineData("a/b", NixTokenKind.Path)]
    [InlineData("1/2", NixTokenKind.Path)]
    [InlineData("./machines/${name}", NixTokenKind.Path)]
    [InlineData("./a/${b}/c.nix", NixTokenKind.Path)]
    [InlineData("https://example.org/a?b=c&d=e", NixTokenKind.Uri)]
    [InlineData("x:y", NixTokenKind.Uri)]
    [InlineData("3000", NixTokenKind.Integer)]
    [InlineData("1.5", NixTokenKind.Float)]
    [InlineData(".5e3", NixTokenKind.Float)]
    [InlineData("hn-alerts", NixTokenKind.Identifier)]
    [InlineData("x'", NixTokenKind.Identifier)]
    [InlineData("...", NixTokenKind.Symbol)]
    [InlineData("//", NixTokenKind.Symbol)]
    public void Longest_match_decides_the_kind(string source, NixTokenKind kind)
    {
        var token = Assert.Single(NixLexer.Tokenize(source));
        Assert.Equal(kind, token.Kind);
        Assert.Equal(source, token.Text);
    }

    [Fact]
    public void Operators_identifiers_and_positions()
    {
        var tokens = NixLexer.Tokenize("{ a ? 1, ... }@args:\n  x: a // { b = [ 1 ] ++ c; }.b or null");

        Assert.Equal(
            ["{", "a", "?", "1", ",", "...", "}", "@", "args", ":", "x", ":", "a", "//", "{", "b", "=", "[", "1", "]", "++", "c", ";", "}", ".", "b", "or", "null"],
            tokens.Select(t => t.Text));
        var x = tokens[10];
        Assert.Equal((2, 3, NixTokenKind.Identifier, "x"), (x.Line, x.Column, x.Kind, x.Value));
        Assert.Equal("${", Assert.Single(NixLexer.Tokenize("a.${b}"), t => t.Kind == NixTokenKind.Symbol && t.Text == "${").Text);
    }

    [Theory]
    [InlineData("{ a = \"open;\n}", "1:7", "string")]
    [InlineData("{ a = ''open;\n}", "1:7", "indented string")]
    [InlineData("/* never closed", "1:1", "comment")]
    [InlineData("\"${ x \"", "1:", "")]
    [InlineData("a = `b`;", "1:5", "unexpected character")]
    public void Broken_source_is_refused_with_where(string source, string where, string what)
    {
        var error = Assert.Throws<AtelierException>(() => NixLexer.Tokenize(source, file: "f.nix"));
        Assert.Equal("NixSyntaxError", error.ErrorId);
        Assert.Contains("f.nix:" + where, error.Message, StringComparison.Ordinal);
        Assert.Contains(what, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_fixture_files_lex_without_error()
    {
        foreach (var file in Directory.GetFiles(InfraFixture.Root, "*.nix", SearchOption.AllDirectories))
        {
            var tokens = NixLexer.Tokenize(File.ReadAllText(file), includeComments: true, file);
            Assert.NotEmpty(tokens);
        }
    }
}
