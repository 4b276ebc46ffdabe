import CCurl
import Foundation
import MLOpsCore

/// One libcurl easy handle and its header list (one owning class per C handle): a single
/// HTTP request, signed with AWS Signature V4 by libcurl itself.
final class CurlRequest {
    private let handle: UnsafeMutableRawPointer
    private var headers: UnsafeMutablePointer<curl_slist>?
    /// The bytes written back, collected by the write callback.
    private let body = ResponseBody()
    /// C strings that must outlive `perform` (libcurl keeps some pointers, not copies).
    private var kept: [Data] = []

    /// One byte that lives as long as the process: the body pointer of an empty request.
    nonisolated(unsafe) static let emptyBody = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)

    final class ResponseBody {
        var data = Data()
    }

    init() throws(S3Error) {
        if let failure = mlops_curl_load() { throw S3Error(.unavailable(String(cString: failure))) }
        guard let handle = mlops_curl_easy_init() else { throw S3Error(.unavailable("curl_easy_init failed")) }
        self.handle = handle
    }

    deinit {
        mlops_curl_easy_cleanup(handle)
        if let headers { mlops_curl_slist_free_all(headers) }
    }

    func set(_ option: CURLoption, _ value: String) {
        _ = value.withCString { mlops_curl_setopt_string(handle, option, $0) }  // libcurl copies strings
    }

    func set(_ option: CURLoption, _ value: Int) { _ = mlops_curl_setopt_long(handle, option, value) }

    func header(_ line: String) {
        headers = line.withCString { mlops_curl_slist_append(headers, $0) }
    }

    /// Sends the request with `payload` as its body (kept alive until it returns); returns the
    /// HTTP status and the response body.
    func perform(payload: Data?) throws(S3Error) -> (status: Int, body: Data) {
        if let headers {
            _ = mlops_curl_setopt_pointer(handle, MLOPS_CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(headers))
        }
        let context = Unmanaged.passUnretained(body).toOpaque()
        _ = mlops_curl_setopt_pointer(handle, MLOPS_CURLOPT_WRITEDATA, context)
        _ = mlops_curl_setopt_write_function(handle) { data, size, count, context in
            guard let data, let context else { return 0 }
            let box = Unmanaged<ResponseBody>.fromOpaque(context).takeUnretainedValue()
            box.data.append(UnsafeRawPointer(data).assumingMemoryBound(to: UInt8.self), count: size * count)
            return size * count
        }
        var code = CURLE_OK
        if let payload {
            // The body from memory (POSTFIELDS does not copy it; the Data is kept until the end).
            kept.append(payload)
            code = payload.withUnsafeBytes { bytes -> CURLcode in
                _ = mlops_curl_setopt_offset(handle, MLOPS_CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bytes.count))
                if let base = bytes.baseAddress {
                    _ = mlops_curl_setopt_pointer(
                        handle, MLOPS_CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: base))
                } else {
                    _ = mlops_curl_setopt_string(handle, MLOPS_CURLOPT_POSTFIELDS, "")  // an empty body
                }
                return mlops_curl_perform(handle)
            }
        } else {
            code = mlops_curl_perform(handle)
        }
        guard code == CURLE_OK else {
            throw S3Error(.unreachable(String(cString: mlops_curl_strerror(code))))
        }
        return (Int(mlops_curl_response_code(handle)), body.data)
    }
}
