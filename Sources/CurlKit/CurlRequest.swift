import CCurl
import Foundation
import MLOpsCore

/// One libcurl easy handle and its header list (one owning class per C handle): a single
/// HTTP request (S3Kit's are signed with AWS Signature V4 by libcurl itself; the MLflow
/// mirror's carry JSON). ``HTTP/send(_:_:headers:body:user:timeout:)`` is the plain use.
public final class CurlRequest {
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

    public init() throws(CurlError) {
        if let failure = mlops_curl_load() { throw CurlError(.unavailable(String(cString: failure))) }
        guard let handle = mlops_curl_easy_init() else { throw CurlError(.unavailable("curl_easy_init failed")) }
        self.handle = handle
        set(MLOPS_CURLOPT_NOSIGNAL, 1)
    }

    deinit {
        mlops_curl_easy_cleanup(handle)
        if let headers { mlops_curl_slist_free_all(headers) }
    }

    public func set(_ option: CURLoption, _ value: String) {
        _ = value.withCString { mlops_curl_setopt_string(handle, option, $0) }  // libcurl copies strings
    }

    public func set(_ option: CURLoption, _ value: Int) { _ = mlops_curl_setopt_long(handle, option, value) }

    public func header(_ line: String) {
        headers = line.withCString { mlops_curl_slist_append(headers, $0) }
    }

    /// Sends the request with `payload` as its body (kept alive until it returns); a
    /// successful answer's body goes to `file` when one is given. Returns the status, the
    /// headers (names in lower case) and the body (empty when it went to the file).
    public func perform(payload: Data?, into file: FileHandle? = nil) throws(CurlError) -> (
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
            throw CurlError(.local("the download could not be written: \(failure.localizedDescription)"))
        }
        guard code == CURLE_OK else {
            throw CurlError(.unreachable(String(cString: mlops_curl_strerror(code))))
        }
        return (Int(mlops_curl_response_code(handle)), response.headers, response.data)
    }
}

/// libcurl could not be loaded, the server could not be reached (or cut the transfer), or a
/// download could not be written. The callers say which server or file it was about.
public struct CurlError: Error, Sendable {
    public enum Kind: Sendable {
        /// libcurl is not installed or too old.
        case unavailable(String)
        /// Connecting or transferring failed (libcurl's message).
        case unreachable(String)
        /// The body could not be written where it was to go.
        case local(String)
    }

    public let kind: Kind
    public init(_ kind: Kind) { self.kind = kind }

    public var detail: String {
        switch kind {
        case .unavailable(let text), .unreachable(let text), .local(let text): text
        }
    }
}

/// What a plain request got back: status, headers (names in lower case) and body.
public struct HTTPResponse: Sendable {
    public let status: Int
    public let headers: [String: String]
    public let body: Data
}

/// Plain HTTP requests through libcurl, for JSON APIs.
public enum HTTP {
    /// Sends one request. `user` is basic authentication (user name, password); `timeout` the
    /// whole transfer's limit in seconds (connecting has 10).
    public static func send(
        _ method: String, _ url: String, headers: [String] = [], body: Data? = nil,
        user: (name: String, password: String)? = nil, timeout: Int = 60
    ) throws(CurlError) -> HTTPResponse {
        let request = try CurlRequest()
        request.set(MLOPS_CURLOPT_URL, url)
        request.set(MLOPS_CURLOPT_CUSTOMREQUEST, method)
        request.set(MLOPS_CURLOPT_CONNECTTIMEOUT, 10)
        request.set(MLOPS_CURLOPT_TIMEOUT, timeout)
        if let user {
            request.set(MLOPS_CURLOPT_USERNAME, user.name)
            request.set(MLOPS_CURLOPT_PASSWORD, user.password)
        }
        for line in headers { request.header(line) }
        if method == "GET" || method == "HEAD" { request.set(MLOPS_CURLOPT_HTTPGET, 1) }
        let (status, headers, data) = try request.perform(payload: method == "GET" ? nil : body ?? Data())
        return HTTPResponse(status: status, headers: headers, body: data)
    }
}
