using System.Text.RegularExpressions;

namespace Atelier.Tests;

/// <summary>
/// The engine names what went wrong, never a cmdlet's parameter or command: those are the PowerShell layer's words,
/// which it adds for the failure's <see cref="Hint"/>s.
/// </summary>
internal static partial class EngineWords
{
    /// <summary>Fails when <paramref name="message"/> holds a parameter (<c> -Force</c>, <c>(-Node)</c>) or a cmdlet name (<c>Restore-ServiceDeploy</c>).</summary>
    public static void AssertNoCmdletWords(string? message)
    {
        Assert.NotNull(message);
        Assert.DoesNotMatch(Parameter(), message);
        Assert.DoesNotMatch(Cmdlet(), message);
    }

    [GeneratedRegex(@"(^|[\s(;,])-[A-Z][a-zA-Z]+")]
    private static partial Regex Parameter();

    [GeneratedRegex(@"\b(Get|Set|New|Invoke|Restore|Unlock|Lock|Test|Save|Backup)-(Service|Infra|Atelier)[A-Za-z]*")]
    private static partial Regex Cmdlet();
}
