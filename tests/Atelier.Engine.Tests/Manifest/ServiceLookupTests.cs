using Atelier.Manifest;
using Atelier.Settings;
using Atelier.Tests.Transport;

namespace Atelier.Tests.Manifest;

/// <summary>A bare service name becomes a manifest entry: found, refused with the closest names, or ambiguous.</summary>
public sealed class ServiceLookupTests : IDisposable
{
    private const string Json = """
        {
          "terebithia": { "hostname": "terebithia", "tailscale_host": "terebithia.tail", "services": [
            { "name": "cachet", "health_url": "https://cachet.example.org/health", "data": { "sqlite": "/var/lib/cachet/data/cachet.db" },
              "branch": "release", "work_dir": "web", "build_command": "bun run build", "install_command": "bun install", "health_timeout": 90,
              "pre_restart_command": "bun run migrate", "post_deploy_command": "bun run warm" },
            { "name": "pastebin" },
            { "name": "twin" } ] },
          "moonlark": { "hostname": "moonlark", "services": [ { "name": "twin", "runtime": "node" } ] }
        }
        """;

    private readonly ServicesManifest _manifest = ServicesManifest.Parse(Json, "services.json");
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void A_name_finds_its_service_with_its_host_and_deploy_fields()
    {
        var cachet = ServiceLookup.Find(_manifest, "cachet");

        Assert.Equal("terebithia.tail", cachet.Host);
        Assert.Equal("https://cachet.example.org/health", cachet.HealthUrl);
        Assert.Equal("/var/lib/cachet/data/cachet.db", cachet.DbPath);
        Assert.Equal("release", cachet.Branch);
        Assert.Equal("web", cachet.WorkDir);
        Assert.Equal("bun run build", cachet.BuildCommand);
        Assert.Equal("bun install", cachet.InstallCommand);
        Assert.Equal(90, cachet.HealthTimeout);
        Assert.Equal("bun run migrate", cachet.PreRestartCommand);
        Assert.Equal("bun run warm", cachet.PostDeployCommand);
        Assert.Null(ServiceLookup.Find(_manifest, "pastebin").Branch);
    }

    [Fact]
    public void An_unknown_name_lists_the_closest_names()
    {
        var ex = Assert.Throws<AtelierException>(() => ServiceLookup.Find(_manifest, "cachte"));

        Assert.Equal("ServiceNotFound", ex.ErrorId);
        Assert.Equal(FailureKind.NotFound, ex.Kind);
        Assert.Equal("The services manifest (services.json) has no service 'cachte' (did you mean 'cachet'?).", ex.Message);
        Assert.Equal("The services manifest (services.json) has no service 'zzz'.", Assert.Throws<AtelierException>(() => ServiceLookup.Find(_manifest, "zzz")).Message);
        Assert.Null(ServiceLookup.TryFind(_manifest, "cachte"));
    }

    [Fact]
    public void Every_service_of_the_manifest_or_of_one_machine_in_its_order()
    {
        Assert.Equal(["cachet@terebithia", "pastebin@terebithia", "twin@terebithia", "twin@moonlark"], ServiceLookup.OnMachine(_manifest, null).Select(s => s.ToString()));
        Assert.Equal(["twin@moonlark"], ServiceLookup.OnMachine(_manifest, "moonlark").Select(s => s.ToString()));
        var ex = Assert.Throws<AtelierException>(() => ServiceLookup.OnMachine(_manifest, "moonlake"));
        Assert.Equal("MachineNotFound", ex.ErrorId);
        Assert.Equal("The services manifest (services.json) has no machine 'moonlake' (did you mean 'moonlark'?). Its machines: terebithia, moonlark.", ex.Message);
    }

    [Fact]
    public void A_name_on_two_machines_needs_the_machine()
    {
        var ex = Assert.Throws<AtelierException>(() => ServiceLookup.Find(_manifest, "twin"));

        Assert.Equal("ServiceAmbiguous", ex.ErrorId);
        Assert.Equal("The service 'twin' runs on terebithia and moonlark (services.json).", ex.Message);
        Assert.Equal([Hint.Machine], ex.Hints);
        Assert.Throws<AtelierException>(() => ServiceLookup.TryFind(_manifest, "twin"));
        Assert.Equal("node", ServiceLookup.Find(_manifest, "twin", "moonlark").Runtime);
        Assert.Equal("terebithia", ServiceLookup.Find(_manifest, "twin", "terebithia").Machine);
        Assert.Equal("MachineNotFound", Assert.Throws<AtelierException>(() => ServiceLookup.Find(_manifest, "twin", "moonlak")).ErrorId);
        Assert.Contains("(did you mean 'moonlark'?)", Assert.Throws<AtelierException>(() => ServiceLookup.Find(_manifest, "twin", "moonlak")).Message, StringComparison.Ordinal);
        Assert.Equal("ServiceNotFound", Assert.Throws<AtelierException>(() => ServiceLookup.Find(_manifest, "cachet", "moonlark")).ErrorId);
    }

    [Theory]
    [InlineData("\"health_timeout\": \"90\"", "$.terebithia.services[0].health_timeout must be a number of seconds, not the string \"90\"")]
    [InlineData("\"health_timeout\": 0", "$.terebithia.services[0].health_timeout must be a whole number of seconds from 1 to 3600, not 0")]
    [InlineData("\"build_command\": 3", "$.terebithia.services[0].build_command must be a string, not the number 3")]
    [InlineData("\"branch\": [\"main\"]", "$.terebithia.services[0].branch must be a string, not an array")]
    public void A_deploy_field_of_the_wrong_type_is_refused_naming_its_path(string field, string message)
    {
        var json = "{ \"terebithia\": { \"services\": [ { \"name\": \"cachet\", " + field + " } ] } }";

        var ex = Assert.Throws<AtelierException>(() => ServicesManifest.Parse(json, "m.json"));

        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_settings_file_holds_per_service_deploy_defaults()
    {
        var file = _folder.Write("atelier.yaml", """
            manifest: ./services.json
            services:
              cachet:
                branch: release
                workDir: web
                buildCommand: bun run build
                installCommand: bun install --production
                preRestartCommand: bun run migrate
                postDeployCommand: curl -fsS localhost:3000/warm
                healthTimeout: 120
              pastebin: {}
            """);

        var settings = AtelierSettings.Load(file);

        var cachet = settings.ServiceDefaults("cachet")!;
        Assert.Equal("release", cachet.Branch);
        Assert.Equal("web", cachet.WorkDir);
        Assert.Equal("bun run build", cachet.BuildCommand);
        Assert.Equal("bun install --production", cachet.InstallCommand);
        Assert.Equal("bun run migrate", cachet.PreRestartCommand);
        Assert.Equal("curl -fsS localhost:3000/warm", cachet.PostDeployCommand);
        Assert.Equal(120, cachet.HealthTimeout);
        Assert.Equal($"{file}:3", cachet.Source);
        Assert.Null(settings.ServiceDefaults("pastebin")!.Branch);
        Assert.Null(settings.ServiceDefaults("nope"));
    }

    [Theory]
    [InlineData("services:\n  cachet:\n    healthTimeout: soon\n", 3, "'services.cachet.healthTimeout' must be a whole number of seconds from 1 to 3600 (it is 'soon')")]
    [InlineData("services:\n  cachet:\n    buildComand: make\n", 3, "'services.cachet.buildComand' is not a service setting (did you mean 'buildCommand'?)")]
    [InlineData("services:\n  cachet:\n    branch: 'a b'\n", 3, "'services.cachet.branch' is refused: a branch may hold only letters")]
    [InlineData("services:\n  cachet:\n    workDir: ../etc\n", 3, "'services.cachet.workDir' is refused: it must be a folder inside ~/app")]
    [InlineData("services:\n  Bad Name:\n    branch: main\n", 2, "'services' has an entry 'Bad Name' that is not a service name")]
    [InlineData("services: [cachet]\n", 1, "'services' must be a mapping of service names to their deploy defaults")]
    [InlineData("services:\n  cachet: main\n", 2, "'services.cachet' must be a mapping of branch, workDir, buildCommand, installCommand, preRestartCommand, postDeployCommand, healthTimeout")]
    [InlineData("services:\n  cachet:\n    preRestartCommand: \"a\\nb\"\n", 3, "'services.cachet.preRestartCommand' is refused")]
    public void A_wrong_service_setting_names_the_file_the_line_and_the_key(string yaml, int line, string message)
    {
        var file = _folder.Write("atelier.yaml", yaml);

        var ex = Assert.Throws<AtelierException>(() => AtelierSettings.Load(file));

        Assert.Equal("SettingsInvalid", ex.ErrorId);
        Assert.StartsWith($"{file}:{line}: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }
}
