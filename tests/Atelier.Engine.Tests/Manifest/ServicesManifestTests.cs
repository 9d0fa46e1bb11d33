using Atelier.Manifest;

namespace Atelier.Tests.Manifest;

/// <summary>Parsing the services manifest: the shape nix eval gives, what may be missing, and errors that name the JSON path.</summary>
public sealed class ServicesManifestTests
{
    /// <summary>Two machines as <c>nix eval --json .#services-manifest</c> prints them.</summary>
    internal const string TwoMachines = """
        {
          "terebithia": {
            "hostname": "terebithia",
            "type": "server",
            "tailscale_host": "terebithia.tail1234.ts.net",
            "services": [
              { "name": "cachet", "description": "Slack emoji cache", "domain": "cachet.dunkirk.sh", "port": 3000,
                "runtime": "bun", "repository": "https://github.com/taciturnaxolotl/cachet", "health_url": "https://cachet.dunkirk.sh/health",
                "data": { "sqlite": "/var/lib/cachet/data/cachet.db", "postgres": null, "files": [ "/var/lib/cachet/uploads" ] } },
              { "name": "minio", "description": "S3-compatible object storage", "domain": "s3.dunkirk.sh", "port": 9001,
                "runtime": "go", "repository": null, "health_url": null,
                "data": { "sqlite": null, "postgres": null, "files": [] } }
            ]
          },
          "moonlark": {
            "hostname": "moonlark",
            "type": "client",
            "tailscale_host": null,
            "services": []
          }
        }
        """;

    [Fact]
    public void Two_machines_and_their_services_are_read_in_order()
    {
        var manifest = ServicesManifest.Parse(TwoMachines, "test.json");

        Assert.Equal("test.json", manifest.Source);
        Assert.Equal(["terebithia", "moonlark"], manifest.Machines.Select(m => m.Name));
        Assert.Equal(["cachet", "minio"], manifest.Services.Select(s => s.Name));

        var cachet = manifest.Services[0];
        Assert.Equal("terebithia", cachet.Machine);
        Assert.Equal("terebithia.tail1234.ts.net", cachet.Host);
        Assert.Equal("cachet.dunkirk.sh", cachet.Domain);
        Assert.Equal(3000, cachet.Port);
        Assert.Equal("bun", cachet.Runtime);
        Assert.Equal("Slack emoji cache", cachet.Description);
        Assert.Equal("https://github.com/taciturnaxolotl/cachet", cachet.Repository);
        Assert.Equal("https://cachet.dunkirk.sh/health", cachet.HealthUrl);
        Assert.Equal("/var/lib/cachet/data/cachet.db", cachet.DbPath);
        Assert.Null(cachet.Postgres);
        Assert.Equal(["/var/lib/cachet/uploads"], cachet.Files);
        Assert.Equal("cachet@terebithia", cachet.ToString());

        var minio = manifest.Services[1];
        Assert.Equal("go", minio.Runtime);
        Assert.Null(minio.HealthUrl);
        Assert.Null(minio.DbPath);
        Assert.Null(minio.Repository);
        Assert.Empty(minio.Files);

        var server = manifest.Machines[0];
        Assert.Equal("server", server.Type);
        Assert.Equal("terebithia.tail1234.ts.net", server.Host);
        Assert.Equal(["cachet", "minio"], server.Services);
        var client = manifest.Machines[1];
        Assert.Equal("client", client.Type);
        Assert.Null(client.TailscaleHost);
        Assert.Empty(client.Services);
    }

    [Theory]
    [InlineData("""{ "m": { "hostname": "h", "tailscale_host": "ts", "services": [ { "name": "a" } ] } }""", "ts")]
    [InlineData("""{ "m": { "hostname": "h", "tailscale_host": null, "services": [ { "name": "a" } ] } }""", "h")]
    [InlineData("""{ "m": { "hostname": "h", "tailscale_host": "", "services": [ { "name": "a" } ] } }""", "h")]
    [InlineData("""{ "m": { "services": [ { "name": "a" } ] } }""", "m")]
    [InlineData("""{ "m": { "hostname": null, "tailscale_host": null, "services": [ { "name": "a" } ] } }""", "m")]
    public void The_host_is_the_tailscale_host_else_the_hostname_else_the_machine(string json, string host)
    {
        var manifest = ServicesManifest.Parse(json, "test.json");
        Assert.Equal(host, manifest.Services.Single().Host);
        Assert.Equal(host, manifest.Machines.Single().Host);
    }

    [Fact]
    public void Optional_values_may_be_missing_and_empty_strings_count_as_missing()
    {
        var manifest = ServicesManifest.Parse("""{ "m": { "services": [ { "name": "a", "health_url": "", "data": { "sqlite": "" } } ], "extra": 1 }, "n": {} }""", "x");

        var service = manifest.Services.Single();
        Assert.Null(service.Domain);
        Assert.Null(service.Port);
        Assert.Null(service.HealthUrl);
        Assert.Null(service.DbPath);
        Assert.Equal(AtelierService.DefaultRuntime, service.Runtime);
        Assert.Empty(service.Files);
        Assert.Equal(["m", "n"], manifest.Machines.Select(m => m.Name));
        Assert.Empty(manifest.Machines[1].Services);
    }

    [Theory]
    [InlineData("""[ 1, 2 ]""", "$ must be an object keyed by machine name, not an array")]
    [InlineData("""{ "m": "server" }""", "(machine 'm'): $.m must be an object (hostname, type, tailscale_host, services), not the string \"server\"")]
    [InlineData("""{ "m": { "hostname": 7 } }""", "(machine 'm'): $.m.hostname must be a string, not the number 7")]
    [InlineData("""{ "m": { "services": { "name": "a" } } }""", "(machine 'm'): $.m.services must be an array of services, not an object")]
    [InlineData("""{ "m": { "services": [ { "name": "a" }, { "domain": "b.example" } ] } }""", "(machine 'm', service #1): $.m.services[1].name is missing or empty")]
    [InlineData("""{ "m": { "services": [ { "name": "a", "port": "3000" } ] } }""", "(machine 'm', service #0 ('a')): $.m.services[0].port must be a port number, not the string \"3000\"")]
    [InlineData("""{ "m": { "services": [ { "name": "a", "port": 70000 } ] } }""", "$.m.services[0].port must be a port number from 1 to 65535, not 70000")]
    [InlineData("""{ "m": { "services": [ { "name": "a", "port": 3000.5 } ] } }""", "$.m.services[0].port must be a port number from 1 to 65535, not 3000.5")]
    [InlineData("""{ "m": { "services": [ { "name": "a", "data": { "files": [ "/x", 3 ] } } ] } }""", "(machine 'm', service #0 ('a')): $.m.services[0].data.files[1] must be a string, not the number 3")]
    [InlineData("""{ "m": { "services": [ { "name": "a", "data": { "sqlite": true } } ] } }""", "$.m.services[0].data.sqlite must be a string, not the boolean true")]
    [InlineData("""{ "m": { "services": [ { "name": "a", "health_url": "cachet.dunkirk.sh/health" } ] } }""", "$.m.services[0].health_url 'cachet.dunkirk.sh/health' is not an absolute http or https URL")]
    [InlineData("""{ "my machine": { "services": [ 5 ] } }""", "(machine 'my machine', service #0): $[\"my machine\"].services[0] must be an object (name, domain, port, ...), not the number 5")]
    public void A_value_of_the_wrong_shape_is_an_error_naming_its_path(string json, string message)
    {
        var ex = Assert.Throws<AtelierException>(() => ServicesManifest.Parse(json, "/srv/services.json"));
        Assert.Equal("ManifestInvalid", ex.ErrorId);
        Assert.Equal(FailureKind.InvalidData, ex.Kind);
        Assert.StartsWith("The services manifest from /srv/services.json is invalid", ex.Message, StringComparison.Ordinal);
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_that_is_not_json_is_an_error_with_its_position()
    {
        var ex = Assert.Throws<AtelierException>(() => ServicesManifest.Parse("{ \"m\": { \"services\": [ }", "bad.json"));
        Assert.Equal("ManifestInvalid", ex.ErrorId);
        Assert.Contains("bad.json is not valid JSON", ex.Message, StringComparison.Ordinal);
        Assert.Contains("LineNumber: 0", ex.Message, StringComparison.Ordinal);
    }
}
