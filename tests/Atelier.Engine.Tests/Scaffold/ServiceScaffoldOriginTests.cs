using Atelier.Scaffold;
using Atelier.Tests.Shell;
using Atelier.Tests.Transport;

namespace Atelier.Tests.Scaffold;

/// <summary><see cref="ServiceScaffold"/>'s reading of a checkout's origin: git itself, awaited, stopped by the token.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ServiceScaffoldOriginTests : IDisposable
{
    private readonly TempFolder _folder = new();

    [Theory]
    [InlineData("https://github.com/kieranklukas/infra.git", "kieranklukas/infra/.github/workflows/deploy-service.yml@main")]
    [InlineData("git@github.com:kieranklukas/infra.git", "kieranklukas/infra/.github/workflows/deploy-service.yml@main")]
    [InlineData("https://gitlab.com/kieranklukas/infra.git", null)]
    public async Task The_origin_of_a_checkout_gives_the_reusable_workflow_only_on_GitHub(string origin, string? reference)
    {
        var repo = Checkout("infra", origin);

        Assert.Equal(origin, await ServiceScaffold.OriginUrlAsync(repo, CancellationToken.None));
        Assert.Equal(reference, await ServiceScaffold.WorkflowReferenceForAsync(repo, CancellationToken.None));
    }

    [Fact]
    public async Task A_checkout_without_an_origin_or_a_folder_that_is_none_has_no_origin()
    {
        var bare = Checkout("bare", origin: null);

        Assert.Null(await ServiceScaffold.OriginUrlAsync(bare, CancellationToken.None));
        Assert.Null(await ServiceScaffold.OriginUrlAsync(_folder.Combine("missing"), CancellationToken.None));
        Assert.Null(await ServiceScaffold.WorkflowReferenceForAsync(bare, CancellationToken.None));
    }

    [Fact]
    public async Task A_cancelled_read_stops()
    {
        var repo = Checkout("infra", "https://github.com/kieranklukas/infra.git");
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ServiceScaffold.OriginUrlAsync(repo, cancelled.Token));
    }

    public void Dispose() => _folder.Dispose();

    private string Checkout(string name, string? origin)
    {
        var path = _folder.Combine(name);
        var made = Sh.Run("git init -q \"$1\" && { [ -z \"$2\" ] || git -C \"$1\" remote add origin \"$2\"; }", [path, origin ?? string.Empty]);
        Assert.True(made.ExitCode == 0, made.Error);
        return path;
    }
}
