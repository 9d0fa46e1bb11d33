using System.Text;
using Atelier.Deploy;
using Atelier.History;
using Atelier.Infra;
using Atelier.Shell;
using Atelier.Transport;

namespace Atelier.Tests.Shell;

/// <summary>
/// Every kind of value bound for a host has a maximum length and refuses control characters, and says which: the
/// limit and the value's length, or the character and its position. A value at its limit passes.
/// </summary>
public sealed class RemoteValueLimitsTests
{
    /// <summary>Linux's MAX_ARG_STRLEN: the longest single argument, which a command sent over SSH becomes for the login shell.</summary>
    private const int MaxArgumentLength = 32 * 4096;

    /// <summary>Each kind, the longest value it takes (built of characters it allows), the limit and its unit.</summary>
    public static TheoryData<string, string, int, string> AtTheLimit => new()
    {
        { "service name", new string('a', RemoteValue.MaxServiceNameLength), 32, "characters" },
        { "user name", new string('a', RemoteValue.MaxServiceNameLength), 32, "characters" },
        { "path", LongPath(RemoteValue.MaxPathBytes), 4096, "bytes" },
        { "branch", new string('a', RemoteValue.MaxBranchLength), 255, "characters" },
        { "commit", new string('a', RemoteValue.MaxCommitLength), 64, "characters" },
        { "commit or tag", new string('v', RemoteValue.MaxBranchLength), 255, "characters" },
        { "tag", new string('a', RemoteValue.MaxTagLength), 64, "characters" },
        { "host name", LongHostName(RemoteValue.MaxHostNameLength), 253, "characters" },
        { "node name", new string('n', RemoteValue.MaxNodeNameLength), 253, "characters" },
        { "health URL", "http://example.org/" + new string('h', RemoteValue.MaxHealthUrlLength - 19), 2048, "characters" },
        { "build command", new string('b', DeployRequest.MaxCommandLength), 1000, "characters" },
    };

    public static TheoryData<string, char, string> ControlCharacters
    {
        get
        {
            var data = new TheoryData<string, char, string>();
            var characters = new (char C, string Described)[]
            {
                ('\0', "control character U+0000"), ('\u0001', "control character U+0001"), ('\u001b', "control character U+001B"),
                ('\u007f', "control character U+007F"), ('\u0080', "control character U+0080"), ('\u0085', "control character U+0085"),
                ('\u009b', "control character U+009B"), ('\u009f', "control character U+009F"), ('\u2028', "line separator U+2028"),
                ('\u2029', "paragraph separator U+2029"),
            };
            foreach (var kind in new[] { "service name", "user name", "path", "branch", "commit", "commit or tag", "tag", "host name", "node name", "health URL", "build command" })
            {
                foreach (var (c, described) in characters)
                {
                    data.Add(kind, c, described);
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(AtTheLimit))]
    public void A_value_at_its_limit_passes(string kind, string value, int limit, string unit)
    {
        Assert.Equal(limit, unit == "bytes" ? Encoding.UTF8.GetByteCount(value) : value.Length);

        Validate(kind, value);
    }

    [Theory]
    [MemberData(nameof(AtTheLimit))]
    public void One_over_its_limit_is_refused_naming_the_limit_and_the_length(string kind, string value, int limit, string unit)
    {
        var longer = kind == "health URL" ? value + "h" : value[..^1] + value[^1] + value[^1];

        var ex = Assert.Throws<RemoteValueException>(() => Validate(kind, longer));

        Assert.Equal(kind, ex.What);
        Assert.Equal($"it is {limit + 1} {unit} long; at most {limit}", ex.Reason);
    }

    [Theory]
    [MemberData(nameof(ControlCharacters))]
    public void A_control_character_is_refused_in_every_kind_naming_it_and_its_position(string kind, char c, string described)
    {
        var value = kind == "health URL" ? $"http://example.org/a{c}b" : $"ab{c}cd";
        var position = value.IndexOf(c, StringComparison.Ordinal) + 1;

        var ex = Assert.Throws<RemoteValueException>(() => Validate(kind, value));

        Assert.Equal($"it must not hold control characters (found {described} at position {position})", ex.Reason);
        Assert.DoesNotContain(c, ex.Message);
    }

    [Fact]
    public void A_68_KB_path_is_refused_by_its_length_and_the_message_shows_only_its_beginning()
    {
        var value = new string('a', 68_000);

        var ex = Assert.Throws<RemoteValueException>(() => RemoteValue.Path(value, "database path"));

        Assert.Equal($"The database path '{new string('a', 60)}…' is refused: it is 68000 bytes long; at most 4096.", ex.Message);
        Assert.Equal(value, ex.Value);
    }

    [Fact]
    public void A_long_value_refused_for_another_reason_shows_its_beginning_and_says_how_long_it_is()
    {
        var value = new string('a', 100) + ";touch x";

        var ex = Assert.Throws<RemoteValueException>(() => RemoteValue.Branch(value));

        Assert.StartsWith($"The branch '{new string('a', 60)}…' (108 characters) is refused: a branch may hold only", ex.Message, StringComparison.Ordinal);
        Assert.EndsWith("(found ';' at position 101).", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_path_counts_UTF8_bytes_not_characters()
    {
        var value = new string('é', 2049);

        var ex = Assert.Throws<RemoteValueException>(() => RemoteValue.Path(value));

        Assert.Equal("it is 4098 bytes long; at most 4096", ex.Reason);
    }

    [Fact]
    public void Each_name_in_a_path_is_at_most_NAME_MAX_bytes()
    {
        var name = new string('n', RemoteValue.MaxPathComponentBytes);
        Assert.Equal($"/var/lib/web/{name}/x.db", RemoteValue.Path($"/var/lib/web/{name}/x.db"));

        var ex = Assert.Throws<RemoteValueException>(() => RemoteValue.Path($"/var/lib/web/{name}n/x.db"));

        Assert.StartsWith($"its name '{new string('n', 60)}…' is 256 bytes long; a file or folder name is at most 255", ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_refusal_names_a_character_outside_the_kind_even_when_it_is_no_shell_syntax()
    {
        Assert.EndsWith("(found 'é' U+00E9 at position 1)", Assert.Throws<RemoteValueException>(() => RemoteValue.Path("é.db")).Reason, StringComparison.Ordinal);
        Assert.EndsWith("(found '@' at position 5)", Assert.Throws<RemoteValueException>(() => RemoteValue.HostName("user@host")).Reason, StringComparison.Ordinal);
        Assert.EndsWith("(found 'W' at position 1)", Assert.Throws<RemoteValueException>(() => RemoteValue.ServiceName("Web")).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void One_line_text_still_names_a_line_break_as_such()
    {
        var ex = Assert.Throws<RemoteValueException>(() => RemoteValue.OneLineText("bun run build\nrm -rf ~", "build command", 1000));

        Assert.Equal("it must be one line (found a newline at position 14)", ex.Reason);
    }

    [Fact]
    public void A_work_folder_keeps_to_a_paths_limits_once_inside_app()
    {
        var inside = LongPath(RemoteValue.MaxPathBytes - "~/app/".Length, relative: true);
        Assert.Equal("~/app/" + inside, DeployCommands.WorkFolder(inside).Value);

        var ex = Assert.Throws<RemoteValueException>(() => DeployCommands.WorkFolder(inside + "a"));

        Assert.Equal("work folder", ex.What);
        Assert.Equal("it is 4097 bytes long; at most 4096", ex.Reason);
    }

    [Theory]
    [InlineData("Branch")]
    [InlineData("DbPath")]
    [InlineData("WorkDir")]
    [InlineData("Commit")]
    [InlineData("InstallCommand")]
    [InlineData("BuildCommand")]
    [InlineData("HealthUrl")]
    [InlineData("Holder")]
    [InlineData("SystemctlPath")]
    public void A_deploy_request_refuses_a_68_KB_value_in_any_field_before_anything_runs(string field)
    {
        var huge = new string('a', 68_000);
        var request = new DeployRequest { Service = "web" };
        request = field switch
        {
            "Branch" => request with { Branch = huge },
            "DbPath" => request with { DbPath = huge },
            "WorkDir" => request with { WorkDir = huge },
            "Commit" => request with { Commit = huge },
            "InstallCommand" => request with { InstallCommand = huge },
            "BuildCommand" => request with { BuildCommand = huge },
            "HealthUrl" => request with { HealthUrl = new Uri("http://example.org/" + huge[..60_000]) }, // Uri itself takes at most 65,519
            "Holder" => request with { Holder = huge },
            _ => request with { SystemctlPath = "/" + huge },
        };

        var ex = Assert.Throws<RemoteValueException>(() => request.Validate());

        Assert.Contains("long; at most", ex.Reason, StringComparison.Ordinal);
        Assert.True(ex.Message.Length < 300, ex.Message);
    }

    [Theory]
    [InlineData("ProfileUser", "root; touch /tmp/x")]
    [InlineData("TempPath", "/tmp/$(touch x)")]
    [InlineData("LogDir", "/var/log/deploy'rs")]
    [InlineData("Hostname", "-oProxyCommand=touch x")]
    [InlineData("SshUser", "deploy\0")]
    [InlineData("TempPath", "")]
    public void An_infra_deploy_refuses_what_deploy_rs_would_put_in_a_command_on_the_node(string field, string value)
    {
        var options = field switch
        {
            "ProfileUser" => new DeployRsOptions { ProfileUser = value },
            "TempPath" => new DeployRsOptions { TempPath = value },
            "LogDir" => new DeployRsOptions { LogDir = value },
            "Hostname" => new DeployRsOptions { Hostname = value },
            _ => new DeployRsOptions { SshUser = value },
        };
        var request = new InfraDeployRequest { Nodes = [new InfraNode("web", new HostConnectionRequest { ComputerName = "web" }, options)], Command = ["deploy"] };

        Assert.Throws<RemoteValueException>(() => request.Validate());
    }

    [Fact]
    public void An_infra_deploy_refuses_a_node_name_longer_than_a_host_name()
    {
        var request = new InfraDeployRequest { Nodes = [new InfraNode(new string('n', 254), new HostConnectionRequest { ComputerName = "localhost", Local = true }, new DeployRsOptions())], Command = ["deploy"] };

        Assert.Equal("it is 254 characters long; at most 253", Assert.Throws<RemoteValueException>(() => request.Validate()).Reason);
    }

    [Fact]
    public void With_every_value_at_its_limit_each_command_of_a_deploy_fits_in_one_argument()
    {
        // The longest commands a deploy sends: the lock's acquire (its scripts and the started record), the arm (the
        // notes, the record and the whole put-back plan, with the database restore script) and a step wrapping the
        // install. Each reaches the login shell as one argument, which Linux caps at MAX_ARG_STRLEN (measured: the arm,
        // the longest, is about 88,000 bytes, with the systemctl path, the database and the work folder at 4096 each).
        var path = LongPath(RemoteValue.MaxPathBytes);
        var request = new DeployRequest
        {
            Service = new string('s', RemoteValue.MaxServiceNameLength),
            Branch = new string('b', RemoteValue.MaxBranchLength),
            Commit = new string('c', RemoteValue.MaxBranchLength),
            DbPath = path,
            WorkDir = LongPath(RemoteValue.MaxPathBytes - "~/app/".Length, relative: true),
            InstallCommand = new string('i', DeployRequest.MaxCommandLength),
            BuildCommand = new string('m', DeployRequest.MaxCommandLength),
            HealthUrl = new Uri("http://example.org/" + new string('h', RemoteValue.MaxHealthUrlLength - 19)),
            Holder = new string('o', LockRequest.MaxTextLength),
            SystemctlPath = path,
        }.Validate();
        var commit = new string('f', RemoteValue.MaxCommitLength);
        var token = new string('0', 32);
        var record = new DeployRecord
        {
            Id = DeployRecord.NewId(),
            Service = request.Service,
            ComputerName = new string('h', RemoteValue.MaxHostNameLength),
            Operation = DeployOperation.Deploy,
            Status = DeployStatus.Started,
            Branch = request.Branch,
            PreviousCommit = commit,
            RequestedCommit = request.Commit,
            DbPath = path,
            SnapshotPath = path,
            StartedAt = DateTimeOffset.UtcNow,
            By = request.Holder,
        };
        string[] notes = ["record=" + record.Id, "previous=" + commit, "snapshot=" + path, "db=" + path, "url=" + request.HealthUrl!.AbsoluteUri, "healthtimeout=60"];
        var plan = DeployCommands.PutBack(request, commit, path, new string('t', RemoteValue.MaxTagLength), "rollback: ");

        var commands = new Dictionary<string, ShellCommand>
        {
            ["acquire"] = DeployLock.AcquireCommand(new LockRequest(request.Service, LockOperation.Deploy, request.Holder) { Commit = request.Commit, Record = record }, token, breakHeld: true),
            ["arm"] = DeployLock.ArmCommand(request.Service, token, notes, record, plan),
            ["install"] = DeployLock.StepCommand(request.Service, token, "install", notes, DeployCommands.Install(request)!),
            ["fetch"] = DeployLock.StepCommand(request.Service, token, "fetch", notes, DeployCommands.FetchRevision(request.Branch, request.Commit!)),
        };

        foreach (var (name, command) in commands)
        {
            Assert.True(Encoding.UTF8.GetByteCount(command.Text) < MaxArgumentLength, $"{name}: {command.Text.Length} characters");
        }
    }

    private static void Validate(string kind, string value)
    {
        _ = kind switch
        {
            "service name" => RemoteValue.ServiceName(value),
            "user name" => RemoteValue.UserName(value),
            "path" => RemoteValue.Path(value),
            "branch" => RemoteValue.Branch(value),
            "commit" => RemoteValue.Commit(value),
            "commit or tag" => RemoteValue.Revision(value),
            "tag" => RemoteValue.Tag(value),
            "host name" => RemoteValue.HostName(value),
            "node name" => RemoteValue.NodeName(value),
            "health URL" => RemoteValue.HealthUrl(value).AbsoluteUri,
            "build command" => RemoteValue.OneLineText(value, "build command", DeployRequest.MaxCommandLength),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };
    }

    /// <summary>A path of exactly <paramref name="bytes"/> bytes whose names are 200 bytes or fewer.</summary>
    private static string LongPath(int bytes, bool relative = false)
    {
        var sb = new StringBuilder(relative ? string.Empty : "/");
        while (sb.Length < bytes)
        {
            var name = Math.Min(200, bytes - sb.Length);
            sb.Append('p', name);
            if (sb.Length < bytes - 1)
            {
                sb.Append('/');
            }
        }

        return sb.ToString();
    }

    /// <summary>A host name of exactly <paramref name="length"/> characters in labels of at most 63.</summary>
    private static string LongHostName(int length)
    {
        var sb = new StringBuilder();
        while (sb.Length < length)
        {
            if (sb.Length > 0)
            {
                sb.Append('.');
            }

            sb.Append('h', Math.Min(63, length - sb.Length));
        }

        return sb.ToString();
    }
}
