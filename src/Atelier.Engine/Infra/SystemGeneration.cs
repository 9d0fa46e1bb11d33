namespace Atelier.Infra;

/// <summary>One generation of a node's system profile (<c>/nix/var/nix/profiles/system-&lt;N&gt;-link</c>).</summary>
public sealed record SystemGeneration
{
    /// <summary>The node (deploy-rs's name for the machine).</summary>
    public required string Node { get; init; }

    /// <summary>The host the generation was read on.</summary>
    public required string ComputerName { get; init; }

    /// <summary>The generation's number (<c>N</c> in <c>system-N-link</c>).</summary>
    public required int Number { get; init; }

    /// <summary>When it was created, in the host's local time, as <c>nix-env --list-generations</c> prints it.</summary>
    public DateTime? Date { get; init; }

    /// <summary>Whether the profile points at it now.</summary>
    public bool Current { get; init; }

    /// <summary>The store path it links to (<c>/nix/store/&lt;hash&gt;-nixos-system-&lt;host&gt;-&lt;version&gt;</c>).</summary>
    public string? Path { get; init; }
}
