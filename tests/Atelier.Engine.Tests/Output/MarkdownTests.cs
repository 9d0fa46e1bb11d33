using Atelier.Output;

namespace Atelier.Tests.Output;

/// <summary>Markdown that renders as the text itself, whatever the text holds.</summary>
public sealed class MarkdownTests
{
    [Theory]
    [InlineData("abc1234 Fix it", "`abc1234 Fix it`")]
    [InlineData("use `x` here", "``use `x` here``")]
    [InlineData("a `` b ``` c", "````a `` b ``` c````")]
    [InlineData("`starts with one", "`` `starts with one ``")]
    [InlineData("ends with one`", "`` ends with one` ``")]
    [InlineData("x` <b>bold</b> [link](http://evil) `y", "``x` <b>bold</b> [link](http://evil) `y``")]
    [InlineData("two\nlines", "`two lines`")]
    public void A_code_span_is_longer_than_any_backtick_run_inside(string text, string expected)
    {
        var span = Markdown.Code(text);

        Assert.Equal(expected, span);
        Assert.Equal(text.Replace('\n', ' '), CodeSpanContent(span));
    }

    [Fact]
    public void In_a_table_cell_a_pipe_is_escaped_and_an_empty_value_is_a_space()
    {
        Assert.Equal("`a \\| b`", Markdown.Code("a | b", inTable: true));
        Assert.Equal("&nbsp;", Markdown.Code(string.Empty, inTable: true));
    }

    [Fact]
    public void A_code_block_is_fenced_longer_than_any_backtick_run_inside()
    {
        var block = Markdown.CodeBlock("before\n```\n</details><img src=x onerror=alert(1)>\n````\nafter");

        Assert.StartsWith("`````\n", block, StringComparison.Ordinal);
        Assert.EndsWith("\n`````\n", block, StringComparison.Ordinal);
        Assert.Equal("```\n\n```\n", Markdown.CodeBlock(string.Empty));
    }

    [Fact]
    public void Plain_text_escapes_html_and_markdown()
    {
        Assert.Equal("&lt;b&gt;x&lt;/b&gt; &amp; \\[a\\]\\(http\\://evil\\) \\*b\\* \\| \\`c\\`", Markdown.Text("<b>x</b> & [a](http://evil) *b* | `c`"));
    }

    /// <summary>What a CommonMark renderer shows for a code span: between the delimiters, one space stripped each side when both have one.</summary>
    private static string CodeSpanContent(string span)
    {
        var fence = span.TakeWhile(c => c == '`').Count();
        var inner = span[fence..^fence];
        return inner.Length >= 2 && inner[0] == ' ' && inner[^1] == ' ' && inner.Trim().Length > 0 ? inner[1..^1] : inner;
    }
}
