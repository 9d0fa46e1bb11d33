using System.Reflection;

namespace Atelier;

/// <summary>
/// Where Atelier itself lives: the <c>RepositoryUrl</c> of Directory.Build.props, compiled into this assembly as
/// <see cref="AssemblyMetadataAttribute"/> "RepositoryUrl" (the .NET SDK writes it from <c>$(RepositoryUrl)</c>,
/// <c>GenerateRepositoryUrlAttribute</c>). Nothing else in the code holds the project's URL.
/// </summary>
public static class AtelierProject
{
    private const string RepositoryUrlKey = "RepositoryUrl";
    private const string GitHubPrefix = "https://github.com/";

    /// <summary>The project's URL, e.g. <c>https://github.com/owner/name</c>.</summary>
    public static string RepositoryUrl { get; } = ReadRepositoryUrl();

    /// <summary>Atelier's version (Directory.Build.props' <c>Version</c>), e.g. <c>0.1.0</c>: what a generated workflow installs.</summary>
    public static string Version { get; } =
        (typeof(AtelierProject).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0").Split('+')[0];

    /// <summary>The project's GitHub repository as <c>owner/name</c> (what <c>actions/checkout</c> takes).</summary>
    public static string GitHubRepository { get; } = ToGitHubRepository(RepositoryUrl);

    private static string ReadRepositoryUrl() =>
        typeof(AtelierProject).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == RepositoryUrlKey)?.Value
        ?? throw new InvalidOperationException("Atelier.Engine was built without its RepositoryUrl (Directory.Build.props).");

    private static string ToGitHubRepository(string url)
    {
        var trimmed = url.EndsWith(".git", StringComparison.Ordinal) ? url[..^4] : url;
        if (!trimmed.StartsWith(GitHubPrefix, StringComparison.Ordinal) || trimmed[GitHubPrefix.Length..].Split('/').Length != 2)
        {
            throw new InvalidOperationException($"The RepositoryUrl \"{url}\" is not a GitHub repository URL (https://github.com/owner/name).");
        }

        return trimmed[GitHubPrefix.Length..];
    }
}
