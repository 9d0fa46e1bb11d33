using System.Reflection;

namespace Atelier.Shell;

/// <summary>The POSIX sh scripts kept in this assembly (every <c>*.sh</c> file, named <c>Atelier.&lt;Folder&gt;.&lt;file&gt;.sh</c>).</summary>
internal static class EmbeddedScript
{
    /// <summary>The text of a script, read once per caller (callers keep it in a <see cref="Lazy{T}"/>).</summary>
    public static string Read(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"The embedded script {name} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
