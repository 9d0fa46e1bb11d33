namespace Atelier.Workflow;

/// <summary>An input of a reusable workflow (<c>on.workflow_call.inputs.&lt;Name&gt;</c>).</summary>
/// <param name="Name">The input's name, as callers write it under <c>with:</c>.</param>
/// <param name="Type"><c>string</c>, <c>number</c> or <c>boolean</c>.</param>
/// <param name="Required">Whether a caller must give it.</param>
/// <param name="Default">The default, or null for none.</param>
/// <param name="Description">What it is for.</param>
public sealed record WorkflowInput(string Name, string Type, bool Required, string? Default, string Description);

/// <summary>A secret of a reusable workflow (<c>on.workflow_call.secrets.&lt;Name&gt;</c>).</summary>
/// <param name="Name">The secret's name, as callers write it under <c>secrets:</c>.</param>
/// <param name="Required">Whether a caller must pass it.</param>
/// <param name="Description">What it is for.</param>
public sealed record WorkflowSecret(string Name, bool Required, string Description);
