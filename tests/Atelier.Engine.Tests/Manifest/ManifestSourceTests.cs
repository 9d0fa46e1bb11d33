using System.Diagnostics;
using Atelier.Manifest;
using Atelier.Tests.Health;
using Atelier.Tests.Snapshot;
using Atelier.Tests.Transport;

namespace Atelier.Tests.Manifest;

/// <summary>Where a manifest comes from: a file, a folder, a real HTTP server on 127.0.0.1, or the real nix.</summary>
public sealed class ManifestSourceTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task A_json_file_is_read_and_parsed()
    {
        var path = _folder.Write("services.json", ServicesManifestTests.TwoMachines);

        var source = ManifestSource.Resolve(path);
        Assert.Equal(ManifestSourceKind.File, source.Kind);
        Assert.Equal(path, source.Location);
        var manifest = await source.LoadAsync(null, CancellationToken.None);
        Assert.Equal(["cachet", "minio"], manifest.Services.Select(s => s.Name));
        Assert.Equal(path, manifest.Source);
    }

    [Fact]
    public void A_relative_path_is_resolved_by_the_given_function()
    {
        var path = _folder.Write("conf/services.json", "{}");
        var source = ManifestSource.Resolve("conf/services.json", relative => Path.Combine(_folder.Path, relative));
        Assert.Equal(path, source.Location);
    }

    [Fact]
    public void A_folder_means_its_services_json_before_its_flake()
    {
        _folder.Write("dots/flake.nix", "{ outputs = { self }: { }; }");
        var flake = ManifestSource.Resolve(_folder.Combine("dots"));
        Assert.Equal(ManifestSourceKind.Flake, flake.Kind);
        Assert.True(flake.IsDirectory);
        Assert.Equal(_folder.Combine("dots"), flake.Location);
        Assert.Equal(".#services-manifest", flake.Installable);

        var json = _folder.Write("dots/services.json", "{}");
        var file = ManifestSource.Resolve(_folder.Combine("dots"));
        Assert.Equal(ManifestSourceKind.File, file.Kind);
        Assert.Equal(json, file.Location);
    }

    [Fact]
    public void A_folder_with_an_attribute_is_that_flake_output()
    {
        _folder.Write("dots/services.json", "{}");
        var source = ManifestSource.Resolve(_folder.Combine("dots") + "#manifests.home");
        Assert.Equal(ManifestSourceKind.Flake, source.Kind);
        Assert.Equal(".#manifests.home", source.Installable);
    }

    [Theory]
    [InlineData("github:taciturnaxolotl/dots", "github:taciturnaxolotl/dots#services-manifest")]
    [InlineData("github:taciturnaxolotl/dots#other", "github:taciturnaxolotl/dots#other")]
    [InlineData("git+https://tangled.sh/dots?ref=main", "git+https://tangled.sh/dots?ref=main#services-manifest")]
    [InlineData("path:/etc/nixos", "path:/etc/nixos#services-manifest")]
    public void A_flake_reference_is_evaluated_by_nix(string location, string installable)
    {
        var source = ManifestSource.Resolve(location);
        Assert.Equal(ManifestSourceKind.Flake, source.Kind);
        Assert.False(source.IsDirectory);
        Assert.Equal(installable, source.Installable);
    }

    [Theory]
    [InlineData("https://status.example.org/services.json")]
    [InlineData("http://127.0.0.1:8080/manifest")]
    public void An_http_url_is_downloaded(string location)
    {
        var source = ManifestSource.Resolve(location);
        Assert.Equal(ManifestSourceKind.Url, source.Kind);
        Assert.Equal(location, source.Location);
    }

    [Fact]
    public void A_missing_path_or_an_empty_folder_is_not_found()
    {
        var missing = Assert.Throws<AtelierException>(() => ManifestSource.Resolve(_folder.Combine("nope.json")));
        Assert.Equal("ManifestNotFound", missing.ErrorId);
        Assert.Equal(FailureKind.NotFound, missing.Kind);
        Assert.Contains(_folder.Combine("nope.json") + " does not exist", missing.Message, StringComparison.Ordinal);

        Directory.CreateDirectory(_folder.Combine("empty"));
        var empty = Assert.Throws<AtelierException>(() => ManifestSource.Resolve(_folder.Combine("empty")));
        Assert.Equal("ManifestNotFound", empty.ErrorId);
        Assert.Contains("has neither a services.json nor a flake.nix", empty.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_url_is_downloaded_over_real_http()
    {
        await using var server = new TestHttpServer((path, _) => path == "/services.json" ? TestResponse.Ok(ServicesManifestTests.TwoMachines) : new TestResponse(404));
        var url = server.Url("/services.json");

        var manifest = await ManifestSource.Resolve(url.AbsoluteUri).LoadAsync(null, CancellationToken.None);
        Assert.Equal(["terebithia", "moonlark"], manifest.Machines.Select(m => m.Name));
        Assert.Equal(url.AbsoluteUri, manifest.Source);
    }

    [Fact]
    public async Task A_url_that_answers_an_error_status_fails_with_it()
    {
        await using var server = new TestHttpServer((_, _) => new TestResponse(404, "no"));
        var ex = await Assert.ThrowsAsync<AtelierException>(() => ManifestSource.Resolve(server.Url("/x.json").AbsoluteUri).LoadAsync(null, CancellationToken.None));
        Assert.Equal("ManifestDownloadFailed", ex.ErrorId);
        Assert.Equal(FailureKind.Connection, ex.Kind);
        Assert.EndsWith("it answered 404 Not Found.", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_url_that_serves_something_else_is_an_invalid_manifest()
    {
        await using var server = new TestHttpServer((_, _) => TestResponse.Ok("<html>login</html>"));
        var ex = await Assert.ThrowsAsync<AtelierException>(() => ManifestSource.Resolve(server.Url("/").AbsoluteUri).LoadAsync(null, CancellationToken.None));
        Assert.Equal("ManifestInvalid", ex.ErrorId);
        Assert.Contains(server.Url("/").AbsoluteUri + " is not valid JSON", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_url_that_never_answers_times_out()
    {
        await using var server = new TestHttpServer((_, _) => new TestResponse(200, Hang: true));
        var sw = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<AtelierException>(() => ManifestSource.Resolve(server.Url("/").AbsoluteUri)
            .LoadAsync(new ManifestOptions { HttpTimeout = TimeSpan.FromMilliseconds(400) }, CancellationToken.None));
        Assert.InRange(sw.Elapsed.TotalSeconds, 0.35, 5);
        Assert.Equal("ManifestTimedOut", ex.ErrorId);
        Assert.Equal(FailureKind.Timeout, ex.Kind);
        Assert.EndsWith("no complete answer within 400 ms.", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_url_on_a_closed_port_is_refused()
    {
        var url = $"http://127.0.0.1:{TestHttpServer.ClosedPort()}/services.json";
        var ex = await Assert.ThrowsAsync<AtelierException>(() => ManifestSource.Resolve(url).LoadAsync(null, CancellationToken.None));
        Assert.Equal("ManifestDownloadFailed", ex.ErrorId);
        Assert.Equal($"Could not download the services manifest from {url}: the connection was refused.", ex.Message);
    }

    [Fact]
    public async Task A_flake_without_nix_on_path_says_nix_is_not_installed()
    {
        _folder.Write("dots/flake.nix", "{ outputs = { self }: { }; }");
        var source = ManifestSource.Resolve(_folder.Combine("dots"));
        var options = new ManifestOptions { SearchPath = _folder.Combine("dots") + Path.PathSeparator + "/nonexistent/bin" };

        var ex = await Assert.ThrowsAsync<AtelierException>(() => source.LoadAsync(options, CancellationToken.None));
        Assert.Equal("NixNotInstalled", ex.ErrorId);
        Assert.Equal(FailureKind.NotInstalled, ex.Kind);
        Assert.Contains("needs nix, which is not on PATH", ex.Message, StringComparison.Ordinal);
    }

    [RequiresToolFact("nix")]
    public async Task A_flake_folder_is_evaluated_with_the_real_nix()
    {
        _folder.Write("dots/flake.nix", """
            {
              outputs = { self }: {
                services-manifest = {
                  terebithia = {
                    hostname = "terebithia"; type = "server"; tailscale_host = null;
                    services = [ { name = "cachet"; port = 3000; runtime = "bun"; health_url = "https://cachet.dunkirk.sh/health";
                                   data = { sqlite = "/var/lib/cachet/data/cachet.db"; postgres = null; files = []; }; } ];
                  };
                };
              };
            }
            """);

        var manifest = await ManifestSource.Resolve(_folder.Combine("dots")).LoadAsync(null, CancellationToken.None);
        var cachet = Assert.Single(manifest.Services);
        Assert.Equal("cachet", cachet.Name);
        Assert.Equal("terebithia", cachet.Host);
        Assert.Equal("/var/lib/cachet/data/cachet.db", cachet.DbPath);
        Assert.Equal($"{_folder.Combine("dots")}#services-manifest (nix eval)", manifest.Source);
    }

    [RequiresToolFact("nix")]
    public async Task A_flake_that_does_not_evaluate_fails_with_nix_s_message()
    {
        _folder.Write("dots/flake.nix", "{ outputs = { self }: { services-manifest = throw \"no manifest here\"; }; }");
        var ex = await Assert.ThrowsAsync<AtelierException>(() => ManifestSource.Resolve(_folder.Combine("dots")).LoadAsync(null, CancellationToken.None));
        Assert.Equal("ManifestEvalFailed", ex.ErrorId);
        Assert.StartsWith("nix eval --json .#services-manifest in " + _folder.Combine("dots") + " failed with exit code 1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("no manifest here", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_cache_reuses_a_load_until_it_is_too_old()
    {
        var path = _folder.Write("services.json", """{ "a": {} }""");
        var clock = new ManualClock();
        var source = ManifestSource.Resolve(path);

        var first = await ManifestCache.GetAsync(source, TimeSpan.FromSeconds(30), null, clock, CancellationToken.None);
        File.WriteAllText(path, """{ "b": {} }""");
        clock.Advance(TimeSpan.FromSeconds(20));
        var cached = await ManifestCache.GetAsync(ManifestSource.Resolve(path), TimeSpan.FromSeconds(30), null, clock, CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(11));
        var fresh = await ManifestCache.GetAsync(source, TimeSpan.FromSeconds(30), null, clock, CancellationToken.None);

        Assert.Same(first, cached);
        Assert.Equal("a", first.Machines.Single().Name);
        Assert.Equal("b", fresh.Machines.Single().Name);
    }

    [Fact]
    public async Task The_cache_counts_the_age_from_when_a_load_finished()
    {
        await using var server = new TestHttpServer((_, count) => TestResponse.Ok(count == 1 ? """{ "slow": {} }""" : """{ "again": {} }""") with { Delay = TimeSpan.FromMilliseconds(count == 1 ? 500 : 0) });
        var clock = new ManualClock();
        var source = ManifestSource.Resolve(server.Url("/age.json").AbsoluteUri);

        var running = ManifestCache.GetAsync(source, TimeSpan.FromSeconds(30), null, clock, CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(40));
        var joined = ManifestCache.GetAsync(source, TimeSpan.FromSeconds(30), null, clock, CancellationToken.None);
        Assert.Same(running, joined);
        await running;
        clock.Advance(TimeSpan.FromSeconds(29));
        Assert.Same(running, ManifestCache.GetAsync(source, TimeSpan.FromSeconds(30), null, clock, CancellationToken.None));
        clock.Advance(TimeSpan.FromSeconds(2));
        var fresh = await ManifestCache.GetAsync(source, TimeSpan.FromSeconds(30), null, clock, CancellationToken.None);

        Assert.Equal("slow", (await running).Machines.Single().Name);
        Assert.Equal("again", fresh.Machines.Single().Name);
        Assert.Equal(2, server.Requests.Count);
    }

    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
