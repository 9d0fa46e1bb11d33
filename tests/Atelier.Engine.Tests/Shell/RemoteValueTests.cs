using Atelier.Shell;

namespace Atelier.Tests.Shell;

/// <summary>Which values may reach a remote shell, and what the refusal says.</summary>
public sealed class RemoteValueTests
{
    private static readonly string LongestServiceName = new('a', RemoteValue.MaxServiceNameLength);

    private static readonly string[] Hostile = ["a;touch /tmp/x", "$(id)", "`id`", "a'b", "a\"b", "a\nb", "a b", "a\tb", "a|b", "a&b", "a>b", "a\\b"];

    public static TheoryData<string, string> Accepted => new()
    {
        { "service name", "web" },
        { "service name", "my-app" },
        { "service name", "_svc" },
        { "service name", "app_2" },
        { "service name", LongestServiceName },
        { "path", "/srv/app/data.db" },
        { "path", "data/app.db" },
        { "path", "../shared/x.db" },
        { "path", "~/data/x.db" },
        { "path", "~" },
        { "path", "a-rf" },
        { "path", "/var/lib/app-1/x_y+z@v%2=a:b,c.db" },
        { "branch", "main" },
        { "branch", "feature/x" },
        { "branch", "release-1.2" },
        { "branch", "v1.0+build_7" },
        { "commit", "abcd" },
        { "commit", "0123456789abcdef0123456789abcdef01234567" },
        { "commit", new string('f', 64) },
        { "tag", "a" },
        { "tag", "0123456789abcdefghijklmnopqrstuvwxyz" },
        { "tag", Guid.Empty.ToString("N") },
        { "tag", new string('z', 64) },
        { "host name", "example.com" },
        { "host name", "host-1" },
        { "host name", "my_host.lan" },
        { "host name", "10.0.0.1" },
        { "host name", "[::1]" },
        { "host name", "[fe80::1:2]" },
    };

    public static TheoryData<string, string> Refused
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var kind in new[] { "service name", "path", "branch", "commit", "tag", "host name" })
            {
                foreach (var value in Hostile)
                {
                    data.Add(kind, value);
                }

                // .NET's '$' also matches before a final newline: a trailing newline must be refused all the same.
                data.Add(kind, "abcd\n");
                data.Add(kind, "abcd\r");
                data.Add(kind, string.Empty);
            }

            foreach (var value in new[] { "Web", "1app", "-x", "a.b", "a/b", "a@b", new string('a', RemoteValue.MaxServiceNameLength + 1) })
            {
                data.Add("service name", value);
            }

            foreach (var value in new[] { "-rf", "-rf/x", "~user/x", "~x", "a/~/b", "x~", "x*", "x?", "x[1]", "{a,b}", "a#b", "é.db" })
            {
                data.Add("path", value);
            }

            foreach (var value in new[] { "-x", "a..b", "x.lock", "a//b", "/x", "x/", "x.", ".x", "a/.b", "a~1", "a^1", "a:b", "a@{1}" })
            {
                data.Add("branch", value);
            }

            foreach (var value in new[] { "abc", "ABCD", "g123", "abcd-ef", new string('a', 65) })
            {
                data.Add("commit", value);
            }

            foreach (var value in new[] { "ABC", "a-b", "a.b", "a/b", "../x", "-x", "a_b", "é", new string('a', 65) })
            {
                data.Add("tag", value);
            }

            foreach (var value in new[] { "-oProxyCommand=x", "user@host", "[::1", "::1]", "host:22", "a/b" })
            {
                data.Add("host name", value);
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Accepted))]
    public void Accepted_values_come_back_unchanged(string kind, string value)
    {
        Assert.Equal(value, Validate(kind, value));
    }

    [Theory]
    [MemberData(nameof(Refused))]
    public void Refused_values_throw_RemoteValueException_naming_the_kind(string kind, string value)
    {
        var ex = Assert.Throws<RemoteValueException>(() => Validate(kind, value));

        Assert.Equal(kind, ex.What);
        Assert.Equal(value, ex.Value);
        Assert.StartsWith($"The {kind} '", ex.Message, StringComparison.Ordinal);
        Assert.Contains("is refused", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("service name", "a;touch /tmp/x", "(found ';' at position 2)")]
    [InlineData("path", "$(id)", "(found '$' at position 1)")]
    [InlineData("branch", "`id`", "(found '`' at position 1)")]
    [InlineData("commit", "ab'cd", "(found ''' at position 3)")]
    [InlineData("host name", "a\"b", "(found '\"' at position 2)")]
    [InlineData("path", "data/a\nb", "(found a newline at position 7)")]
    [InlineData("branch", "main\n", "(found a newline at position 5)")]
    [InlineData("service name", "a b", "(found a space at position 2)")]
    [InlineData("path", "a\tb", "(found a tab at position 2)")]
    [InlineData("host name", "a\u0007b", "(found control character U+0007 at position 2)")]
    public void The_message_names_the_offending_character_and_where_it_is(string kind, string value, string expected)
    {
        var ex = Assert.Throws<RemoteValueException>(() => Validate(kind, value));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_message_shows_control_characters_escaped_so_it_stays_on_one_line()
    {
        var ex = Assert.Throws<RemoteValueException>(() => RemoteValue.Path("a\nb\r\u0001"));

        Assert.Contains(@"'a\nb\r\u0001'", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void The_caller_names_the_kind_of_value()
    {
        var ex = Assert.Throws<RemoteValueException>(() => RemoteValue.Path("x y", "database path"));

        Assert.Equal("database path", ex.What);
        Assert.StartsWith("The database path 'x y' is refused: ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Null_and_empty_are_refused_as_empty()
    {
        var ex = Assert.Throws<RemoteValueException>(() => RemoteValue.ServiceName(null));

        Assert.Equal(string.Empty, ex.Value);
        Assert.Contains("it is empty", ex.Message, StringComparison.Ordinal);
        Assert.Throws<RemoteValueException>(() => RemoteValue.Branch(string.Empty));
    }

    [Fact]
    public void A_refusal_is_an_ArgumentException()
    {
        Assert.IsAssignableFrom<ArgumentException>(Assert.Throws<RemoteValueException>(() => RemoteValue.Commit("$(id)")));
    }

    [Fact]
    public void A_too_long_service_name_says_so()
    {
        var ex = Assert.Throws<RemoteValueException>(() => RemoteValue.ServiceName(LongestServiceName + "a"));

        Assert.Contains($"it is {RemoteValue.MaxServiceNameLength + 1} characters long; at most {RemoteValue.MaxServiceNameLength}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tilde_other_than_a_leading_home_is_explained()
    {
        var ex = Assert.Throws<RemoteValueException>(() => RemoteValue.Path("~user/x"));

        Assert.Contains("'~' may only start the path, as '~/'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_path_starting_with_a_dash_is_explained()
    {
        var ex = Assert.Throws<RemoteValueException>(() => RemoteValue.Path("-rf"));

        Assert.Contains("must not start with '-'", ex.Message, StringComparison.Ordinal);
    }

    private static string Validate(string kind, string? value) => kind switch
    {
        "service name" => RemoteValue.ServiceName(value),
        "path" => RemoteValue.Path(value),
        "branch" => RemoteValue.Branch(value),
        "commit" => RemoteValue.Commit(value),
        "tag" => RemoteValue.Tag(value),
        "host name" => RemoteValue.HostName(value),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };
}
