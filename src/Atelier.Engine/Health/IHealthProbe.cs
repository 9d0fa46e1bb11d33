namespace Atelier.Health;

/// <summary>One way of looking at a service once. Implementations are safe to call repeatedly, not concurrently.</summary>
public interface IHealthProbe
{
    /// <summary>
    /// Makes one try that gives up after <paramref name="timeout"/>; a failed try is a result, not an exception. A result
    /// marked <see cref="ServiceHealth.Conclusive"/> says no later try can change the outcome (the poll then ends).
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    Task<ServiceHealth> ProbeAsync(TimeSpan timeout, CancellationToken cancellationToken);
}
