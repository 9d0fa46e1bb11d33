using Atelier.Output;

namespace Atelier.Tests.Output;

/// <summary>The built-in secret shapes, and the values and patterns a user names.</summary>
public sealed class RedactionTests
{
    public static TheoryData<string, string, string> Shapes => new()
    {
        { "a NAME_TOKEN=value pair", "API_TOKEN=hunter2secret", "API_TOKEN=***" },
        { "export with a double-quoted value of two words", "export DB_PASSWORD=\"x y\" next", "export DB_PASSWORD=\"***\" next" },
        { "a single-quoted value", "STRIPE_SECRET='sk live 1'", "STRIPE_SECRET='***'" },
        { "KEY in any case, with spaces around =", "aws_secret_access_key = AKIAabc/def+ghi", "aws_secret_access_key = ***" },
        { "a name that is just the word", "password=hunter2", "password=***" },
        { "PASSWD", "MYSQL_PASSWD=abc", "MYSQL_PASSWD=***" },
        { "a command-line flag", "run --api-key=abc123 --verbose", "run --api-key=*** --verbose" },
        { "a URL query parameter, the next one kept", "GET /cb?access_token=abc&state=1", "GET /cb?access_token=***&state=1" },
        { "a JSON member", "{\"client_secret\": \"abc\", \"id\": 1}", "{\"client_secret\": \"***\", \"id\": 1}" },
        { "an empty value stays", "API_KEY=\"\" next", "API_KEY=\"\" next" },
        { "a dotted properties name", "spring.datasource.password=s3cret", "spring.datasource.password=***" },
        { "a name that only contains the word stays", "keyboard=us tokenizer=bert", "keyboard=us tokenizer=bert" },
        { "a Bearer header", "Authorization: Bearer eyJhbGciOi.x.y", "Authorization: Bearer ***" },
        { "a Basic header in curl's quotes", "curl -H \"authorization: basic dXNlcjpwYXNz\" url", "curl -H \"authorization: basic ***\" url" },
        { "a header without a scheme", "Proxy-Authorization: abc123", "Proxy-Authorization: ***" },
        { "a URL's password", "cloning https://user:pass@github.com/x.git", "cloning https://user:***@github.com/x.git" },
        { "a URL with a token as the password", "git remote: https://x-access-token:ghs_abc@github.com/o/r", "git remote: https://x-access-token:***@github.com/o/r" },
        { "a URL without a password stays", "ssh://git@github.com/o/r and https://example.org/a:b", "ssh://git@github.com/o/r and https://example.org/a:b" },
        { "a GitHub token on its own", "token ghp_abcdefghijklmnopqrstuvwxyz0123456789AB used", "token *** used" },
        { "a fine-grained GitHub token", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ", "***" },
        { "a PEM private key across lines", "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabcdef==\n-----END RSA PRIVATE KEY-----\nafter", "key:\n-----BEGIN RSA PRIVATE KEY-----\n***\n-----END RSA PRIVATE KEY-----\nafter" },
        { "an OpenSSH private key", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----", "-----BEGIN OPENSSH PRIVATE KEY-----\n***\n-----END OPENSSH PRIVATE KEY-----" },
        { "two key blocks", "-----BEGIN PRIVATE KEY-----\na\n-----END PRIVATE KEY-----\nmid\n-----BEGIN EC PRIVATE KEY-----\nb\n-----END EC PRIVATE KEY-----", "-----BEGIN PRIVATE KEY-----\n***\n-----END PRIVATE KEY-----\nmid\n-----BEGIN EC PRIVATE KEY-----\n***\n-----END EC PRIVATE KEY-----" },
        { "a key block cut off at the end", "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\nkqhkiG9w0", "-----BEGIN PRIVATE KEY-----\n***" },
        { "a key block cut off at the start", "MIIEvQIBADANBg\nkqhkiG9w0\n-----END PRIVATE KEY-----\nafter", "***\n-----END PRIVATE KEY-----\nafter" },
        { "a public key stays", "-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----", "-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----" },
        { "ordinary output stays", "bun build v1.1: 3 files, 12 ms\nkey points: fast", "bun build v1.1: 3 files, 12 ms\nkey points: fast" },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void The_built_in_shapes_are_hidden(string why, string text, string expected)
    {
        var redacted = Redaction.BuiltIn.Apply(text);

        Assert.True(expected == redacted, $"{why}: got '{redacted}'");
        Assert.Equal(redacted, Redaction.BuiltIn.Apply(redacted));
    }

    public static TheoryData<string[], string, string> UserRules => new()
    {
        { ["hunter2secret"], "the value hunter2secret, again hunter2secret", "the value ***, again ***" },
        { ["abc", "abcdef"], "abcdef and abc", "*** and ***" },
        { ["/tok-[0-9]+/"], "tok-123 and tok-x", "*** and tok-x" },
        { ["/^secret: .*$/"], "a\nsecret: it is here\nb", "a\n***\nb" },
        { ["/SeSaMe/i"], "sesame SESAME", "*** ***" },
        { ["/SeSaMe/"], "sesame SeSaMe", "sesame ***" },
        { ["", null!, "  x  "], "a  x  b", "a***b" },
        { ["/a/b/"], "xa/by", "x***y" },
    };

    [Theory]
    [MemberData(nameof(UserRules))]
    public void A_users_values_and_patterns_are_hidden(string[] rules, string text, string expected) =>
        Assert.Equal(expected, Redaction.Parse(rules).Apply(text));

    [Fact]
    public void Values_and_patterns_are_listed_apart_and_shown_without_the_values()
    {
        var redaction = Redaction.Parse(["hunter2secret", "/tok-[0-9]+/", "/x/i"]);

        Assert.Equal(["hunter2secret"], redaction.Values);
        Assert.Equal(2, redaction.Patterns.Count);
        Assert.Equal(["***", "/tok-[0-9]+/", "/x/i"], redaction.Describe());
        Assert.Same(Redaction.BuiltIn, Redaction.Parse([]));
        Assert.Same(Redaction.BuiltIn, Redaction.Parse(null));
    }

    [Fact]
    public void Rules_combine()
    {
        var both = Redaction.Parse(["first-value"]).With(Redaction.Parse(["/second-[0-9]/"]));

        Assert.Equal("*** ***", both.Apply("first-value second-1"));
    }

    [Theory]
    [InlineData("ab", "rule 1 is a value of 2 character(s)")]
    [InlineData("/[unclosed/", "rule 1 (/[unclosed/) is not a valid regular expression")]
    public void A_bad_rule_is_refused_without_showing_a_value(string rule, string message)
    {
        var ex = Assert.Throws<FormatException>(() => Redaction.Parse([rule]));

        Assert.StartsWith(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pattern_that_runs_too_long_hides_the_whole_text()
    {
        var redaction = Redaction.Parse(["/(a+)+$/"]);

        var redacted = redaction.Apply(new string('a', 40_000) + "!");

        Assert.StartsWith("*** (hidden whole", redacted, StringComparison.Ordinal);
    }
}
