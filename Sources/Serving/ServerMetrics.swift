import Foundation
import Hummingbird
import Metrics
import Prometheus

/// The server's metrics, through swift-metrics onto a Prometheus registry of its own (so
/// several servers in one process, as in tests, keep theirs apart), served at `/metrics` in
/// Prometheus' text format:
///
/// - `mlops_http_requests_total{route, method, code}`: requests by matched route and status;
/// - `mlops_http_request_duration_seconds{route}`: a latency histogram;
/// - `mlops_rows_predicted_total`: rows through the model;
/// - `mlops_model_load_seconds`: how long loading and the warm-up took;
/// - `mlops_connections_closed_total{reason}`: connections the server cut, `slow` (no whole
///   request within `--read-timeout`) or `idle` (kept alive past `--idle-timeout`);
/// - `mlops_connections_rejected_total`: connections refused over `--max-connections`.
public final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory
    let rows: Metrics.Counter
    let load: Metrics.Gauge
    let connectionsRejected: Metrics.Counter
    /// The prediction log: rows written, rows dropped (the queue full), files published.
    let loggedRows: Metrics.Counter
    let droppedRows: Metrics.Counter
    let logFiles: Metrics.Counter

    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        // From half a millisecond: a one-row prediction takes about that.
        factory.defaultDurationHistogramBuckets = [
            .microseconds(500), .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .milliseconds(2500),
        ]
        self.factory = factory
        rows = Metrics.Counter(label: "mlops_rows_predicted_total", factory: factory)
        load = Metrics.Gauge(label: "mlops_model_load_seconds", factory: factory)
        connectionsRejected = Metrics.Counter(label: "mlops_connections_rejected_total", factory: factory)
        loggedRows = Metrics.Counter(label: "mlops_prediction_log_rows_total", factory: factory)
        droppedRows = Metrics.Counter(label: "mlops_prediction_log_dropped_rows_total", factory: factory)
        logFiles = Metrics.Counter(label: "mlops_prediction_log_files_total", factory: factory)
        for reason in ["slow", "idle"] {
            Metrics.Counter(label: "mlops_connections_closed_total", dimensions: [("reason", reason)], factory: factory)
                .increment(by: 0)
        }
    }

    func connectionsCut(reason: String) {
        Metrics.Counter(label: "mlops_connections_closed_total", dimensions: [("reason", reason)], factory: factory)
            .increment()
    }

    /// The counter and timer of each (route, method, code), made once: making them per request
    /// hashed their labels and took the registry's lock every time.
    private let series = SeriesCache()

    func request(route: String, method: String, code: Int, nanoseconds: Int64) {
        let (counter, timer) = series.get(route: route, method: method, code: code) {
            (
                Metrics.Counter(
                    label: "mlops_http_requests_total",
                    dimensions: [("route", route), ("method", method), ("code", String(code))], factory: factory),
                Metrics.Timer(
                    label: "mlops_http_request_duration_seconds", dimensions: [("route", route)], factory: factory)
            )
        }
        counter.increment()
        timer.recordNanoseconds(nanoseconds)
    }

    /// The Prometheus text exposition of every metric.
    public func text() -> String {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(4096)
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}

/// A request's metric series by route, method and status.
private final class SeriesCache: @unchecked Sendable {
    struct Key: Hashable {
        let route: String
        let method: String
        let code: Int
    }
    // `series` is only touched under `lock`; hence @unchecked Sendable.
    private let lock = NSLock()
    private var series: [Key: (Metrics.Counter, Metrics.Timer)] = [:]

    func get(route: String, method: String, code: Int, make: () -> (Metrics.Counter, Metrics.Timer)) -> (
        Metrics.Counter, Metrics.Timer
    ) {
        let key = Key(route: route, method: method, code: code)
        lock.lock()
        defer { lock.unlock() }
        if let found = series[key] { return found }
        let made = make()
        series[key] = made
        return made
    }
}

/// Counts every request and its latency by the route it matched (Hummingbird's `NotFound` for none).
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let started = ContinuousClock.now
        func record(_ code: Int) {
            let elapsed = ContinuousClock.now - started
            let nanoseconds =
                elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
            metrics.request(
                route: context.endpointPath ?? "unmatched", method: request.method.rawValue, code: code,
                nanoseconds: nanoseconds)
        }
        do {
            let response = try await next(request, context)
            record(response.status.code)
            return response
        } catch let error as HTTPResponseError {
            record(error.status.code)
            throw error
        } catch {
            record(500)
            throw error
        }
    }
}

extension ServerMetrics: PredictionLogCounters {
    public func rowsLogged(_ rows: Int) { loggedRows.increment(by: rows) }
    public func rowsDropped(_ rows: Int) { droppedRows.increment(by: rows) }
    public func filePublished() { logFiles.increment() }
}
