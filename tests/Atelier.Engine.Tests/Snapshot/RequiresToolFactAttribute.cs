using Atelier.Tests.Shell;

namespace Atelier.Tests.Snapshot;

/// <summary>A fact that is skipped, saying why, when a program it needs is not on PATH.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RequiresToolFactAttribute : FactAttribute
{
    public RequiresToolFactAttribute(string tool)
    {
        Tool = tool;
        if (!Sh.OnPath(tool))
        {
            Skip = $"{tool} is not installed on this machine (apt-get install {tool}), so this case cannot run.";
        }
    }

    public string Tool { get; }
}
