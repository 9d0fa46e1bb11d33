using System.Xml.Linq;
using Atelier.Workflow;

namespace Atelier.Tests;

/// <summary><see cref="AtelierProject"/>: the project's URL comes from Directory.Build.props and nowhere else.</summary>
public sealed class AtelierProjectTests
{
    [Fact]
    public void The_repository_url_is_the_one_in_Directory_Build_props()
    {
        Assert.Equal(PropsRepositoryUrl(), AtelierProject.RepositoryUrl);
    }

    [Fact]
    public void The_github_repository_is_the_urls_owner_and_name()
    {
        Assert.Equal(new Uri(PropsRepositoryUrl()).AbsolutePath.Trim('/'), AtelierProject.GitHubRepository);
        Assert.Matches("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", AtelierProject.GitHubRepository);
    }

    [Fact]
    public void The_reusable_workflow_installs_the_version_of_Directory_Build_props_by_default()
    {
        Assert.Equal(Props("Version"), AtelierProject.Version);
        Assert.Equal(AtelierProject.Version, new ReusableDeployWorkflowOptions().AtelierVersion);
    }

    private static string PropsRepositoryUrl() => Props("RepositoryUrl");

    private static string Props(string property)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var props = Path.Combine(dir.FullName, "Directory.Build.props");
            if (File.Exists(props) && File.Exists(Path.Combine(dir.FullName, "Atelier.psd1")))
            {
                return XDocument.Load(props).Descendants(property).Single().Value;
            }
        }

        throw new FileNotFoundException($"Directory.Build.props was not found above {AppContext.BaseDirectory}.");
    }
}
