import CCurl
import Foundation
import MLOpsCore

/// One libcurl easy handle and its header list (one owning class per C handle): a single
/// HTTP request, signed with AWS Signature V4 by libcurl itself.
final class CurlRequest {
    private let handle: UnsafeMutableRawPointer
    private var headers: UnsafeMutablePointer<curl_slist>?
    /// The response: status, headers and body, collected by the callbacks.
    private let response = Response()
    /// C strings that must outlive `perform` (libcurl keeps some pointers, not copies).
    private var kept: [Data] = []

    /// What came back. A body of a successful (2xx) answer goes to `file` when one is set;
    /// anything else (an error's XML) is kept in `data`.
    final class Response {
        var status = 0
        var headers: [String: String] = [:]
        var data = Data()
        var file: FileHandle?
        var fileError: Error?

        func header(_ line: Substring) {
            if line.hasPrefix("HTTP/") {
                // A new status line (after `100 Continue`, or a redirect): the headers start over.
                status = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
                headers = [:]
                return
            }
            guard let colon = line.firstIndex(of: ":") else { return }
            let name = line[..<colon].lowercased()
            headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        }

        func body(_ bytes: UnsafeRawBufferPointer) -> Bool {
            if let file, (200..<300).contains(status) {
                do { try file.write(contentsOf: bytes) } catch {
                    fileError = error
                    return false
                }
            } else {
                data.append(contentsOf: bytes)
            }
            return true
        }
    }

    init() throws(S3Error) {
        if let failure = mlops_curl_load() { throw S3Error(.unavailable(String(cString: failure))) }
        guard let handle = mlops_curl_easy_init() else { throw S3Error(.unavailable("curl_easy_init failed")) }
        self.handle = handle
        set(MLOPS_CURLOPT_NOSIGNAL, 1)
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

    /// Sends the request with `payload` as its body (kept alive until it returns); a
    /// successful answer's body goes to `file` when one is given. Returns the status, the
    /// headers (names in lower case) and the body (empty when it went to the file).
    func perform(payload: Data?, into file: FileHandle? = nil) throws(S3Error) -> (
        status: Int, headers: [String: String], body: Data
    ) {
        if let headers {
            _ = mlops_curl_setopt_pointer(handle, MLOPS_CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(headers))
        }
        response.file = file
        let context = Unmanaged.passUnretained(response).toOpaque()
        _ = mlops_curl_setopt_pointer(handle, MLOPS_CURLOPT_WRITEDATA, context)
        _ = mlops_curl_setopt_write_function(handle) { data, size, count, context in
            guard let data, let context else { return 0 }
            let box = Unmanaged<Response>.fromOpaque(context).takeUnretainedValue()
            return box.body(UnsafeRawBufferPointer(start: data, count: size * count)) ? size * count : 0
        }
        _ = mlops_curl_setopt_pointer(handle, MLOPS_CURLOPT_HEADERDATA, context)
        _ = mlops_curl_setopt_header_function(handle) { data, size, count, context in
            guard let data, let context else { return 0 }
            let box = Unmanaged<Response>.fromOpaque(context).takeUnretainedValue()
            let line = String(decoding: UnsafeRawBufferPointer(start: data, count: size * count), as: UTF8.self)
            box.header(Substring(line.trimmingCharacters(in: .newlines)))
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
        if let failure = response.fileError {
            throw S3Error(
                .local(path: "", detail: "the download could not be written: \(failure.localizedDescription)"))
        }
        guard code == CURLE_OK else {
            throw S3Error(.unreachable(String(cString: mlops_curl_strerror(code))))
        }
        return (Int(mlops_curl_response_code(handle)), response.headers, response.data)
    }
}
