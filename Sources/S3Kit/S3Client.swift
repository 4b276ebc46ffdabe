import CCurl
import Crypto
import CurlKit
import Foundation
import MLOpsCore

/// A small S3 client: objects put (optionally only when absent, in parts when large), got
/// (into memory or a file), listed, looked at and deleted, buckets made; every request signed
/// with AWS Signature V4 by libcurl (docs/design/shared-storage.md). A custom endpoint is
/// addressed path-style (`ENDPOINT/BUCKET/KEY`), as MinIO and moto want.
///
/// Server errors (5xx, `SlowDown`) and cut connections are retried with jittered exponential
/// backoff, at most ``RetryPolicy/attempts`` tries. Every upload carries its SHA-256
/// (`x-amz-checksum-sha256`, checked by S3; `x-amz-meta-sha256`, checked again after each
/// download).
public struct S3Client: Sendable {
    public let endpoint: URL
    public let region: String
    public let credentials: S3Credentials
    public var retry: RetryPolicy
    /// Objects larger than this go up in parts of ``partSize``.
    public var multipartThreshold: Int = 64 << 20
    public var partSize: Int = 16 << 20

    /// How often and how patiently a failed request is tried again.
    public struct RetryPolicy: Sendable, Equatable {
        public var attempts: Int
        /// The first wait, doubled at each try (with jitter), never more than `maxDelay`.
        public var baseDelay: Double
        public var maxDelay: Double
        public init(attempts: Int = 5, baseDelay: Double = 0.2, maxDelay: Double = 8) {
            self.attempts = attempts
            self.baseDelay = baseDelay
            self.maxDelay = maxDelay
        }
    }

    /// Plain HTTP only for a loopback endpoint, unless `allowHTTP`.
    public init(
        endpoint: URL, region: String, credentials: S3Credentials, allowHTTP: Bool = false,
        retry: RetryPolicy = RetryPolicy()
    ) throws(S3Error) {
        if endpoint.scheme == "http", !allowHTTP, !["127.0.0.1", "localhost", "::1"].contains(endpoint.host ?? "") {
            throw S3Error(.insecureEndpoint(endpoint.absoluteString))
        }
        guard endpoint.scheme == "http" || endpoint.scheme == "https" else {
            throw S3Error(.insecureEndpoint(endpoint.absoluteString))
        }
        self.endpoint = endpoint
        self.region = region
        self.credentials = credentials
        self.retry = retry
    }

    public enum PutOutcome: Sendable, Equatable {
        case created
        /// `ifAbsent` and the key exists already (HTTP 412), or another conditional write to
        /// it is in progress (HTTP 409 ConditionalRequestConflict, which AWS says to retry):
        /// another writer was first, or may be.
        case alreadyExists
    }

    /// What a conditional write's answer says when it did not plainly succeed: nil when it is
    /// neither a lost race nor a retry that landed (the caller then reports the failure).
    /// A lost race is 412, or 409 ConditionalRequestConflict (AWS S3 under contention); a
    /// retried request whose first try landed finds the object (or, for a multipart
    /// completion, its upload gone), and the object with the same SHA-256 is ours.
    func conditionalOutcome(_ answer: Answer, bucket: String, key: String, sha256: String) throws(S3Error)
        -> PutOutcome?
    {
        let lost =
            answer.status == 412 || (answer.status == 409 && Self.code(answer.body) == "ConditionalRequestConflict")
        let gone = answer.status == 404 && Self.code(answer.body) == "NoSuchUpload"
        guard lost || gone else { return nil }
        if answer.attempts > 1, try head(bucket: bucket, key: key)?.sha256 == sha256 { return .created }
        return lost ? .alreadyExists : nil
    }

    /// An object in a listing.
    public struct Object: Sendable, Equatable {
        public let key: String
        public let size: Int64
    }

    /// Creates `bucket` (an existing one owned by these credentials is fine).
    public func createBucket(_ bucket: String) throws(S3Error) {
        let answer = try send("PUT", bucket: bucket, key: nil, payload: Data())
        guard answer.status == 200 || (answer.status == 409 && Self.code(answer.body) == "BucketAlreadyOwnedByYou")
        else {
            throw failure(answer, bucket: bucket, key: nil)
        }
    }

    /// Writes `data` at `key`; with `ifAbsent` only when no object is there (`If-None-Match: *`).
    @discardableResult
    public func put(bucket: String, key: String, data: Data, ifAbsent: Bool = false) throws(S3Error) -> PutOutcome {
        let digest = Array(SHA256.hash(data: data))
        var headers = Self.checksumHeaders(digest)
        if ifAbsent { headers.append("If-None-Match: *") }
        let answer = try send("PUT", bucket: bucket, key: key, payload: data, payloadDigest: digest, headers: headers)
        if let outcome = try conditionalOutcome(answer, bucket: bucket, key: key, sha256: Hex.string(digest)) {
            return outcome
        }
        guard answer.status == 200 else { throw failure(answer, bucket: bucket, key: key) }
        return .created
    }

    /// Writes the file at `key` (in parts when it is large; a failed upload is aborted, so
    /// no object appears); with `ifAbsent` only when no object is there.
    @discardableResult
    public func upload(file: URL, bucket: String, key: String, ifAbsent: Bool = false) throws(S3Error) -> PutOutcome {
        let data: Data
        do { data = try Data(contentsOf: file, options: .alwaysMapped) } catch {
            throw S3Error(.local(path: file.path, detail: error.localizedDescription))
        }
        if data.count <= multipartThreshold { return try put(bucket: bucket, key: key, data: data, ifAbsent: ifAbsent) }
        return try MultipartUpload(client: self, bucket: bucket, key: key).run(data, ifAbsent: ifAbsent)
    }

    /// The object at `key`, nil when there is none.
    public func get(bucket: String, key: String) throws(S3Error) -> Data? {
        let answer = try send("GET", bucket: bucket, key: key, payload: nil)
        if answer.status == 404, Self.code(answer.body) == "NoSuchKey" { return nil }
        guard answer.status == 200 else { throw failure(answer, bucket: bucket, key: key) }
        try Self.check(answer.headers, digest: Array(SHA256.hash(data: answer.body)), object: "s3://\(bucket)/\(key)")
        return answer.body
    }

    /// Downloads the object at `key` into `file` (the caller's temporary name: on an error it
    /// may hold part of the object), checking the SHA-256 recorded at upload; returns the
    /// file's SHA-256, nil when there is no such object.
    @discardableResult
    public func download(bucket: String, key: String, to file: URL) throws(S3Error) -> [UInt8]? {
        let answer = try send("GET", bucket: bucket, key: key, payload: nil, into: file)
        if answer.status == 404, Self.code(answer.body) == "NoSuchKey" {
            try? FileManager.default.removeItem(at: file)
            return nil
        }
        guard answer.status == 200 else {
            try? FileManager.default.removeItem(at: file)
            throw failure(answer, bucket: bucket, key: key)
        }
        do {
            let digest = try Self.sha256(of: file)
            try Self.check(answer.headers, digest: digest, object: "s3://\(bucket)/\(key)")
            return digest
        } catch {
            try? FileManager.default.removeItem(at: file)
            throw error
        }
    }

    /// What is known of an object without reading it: its size and the SHA-256 recorded at
    /// upload (nil when another tool wrote it); nil when there is no such object.
    public func head(bucket: String, key: String) throws(S3Error) -> (size: Int64, sha256: String?)? {
        let answer = try send("HEAD", bucket: bucket, key: key, payload: nil)
        if answer.status == 404 { return nil }
        guard answer.status == 200 else { throw failure(answer, bucket: bucket, key: key) }
        return (Int64(answer.headers["content-length"] ?? "") ?? 0, answer.headers["x-amz-meta-sha256"])
    }

    public func delete(bucket: String, key: String) throws(S3Error) {
        let answer = try send("DELETE", bucket: bucket, key: key, payload: nil)
        guard answer.status == 204 || answer.status == 200 else { throw failure(answer, bucket: bucket, key: key) }
    }

    /// Every object under `prefix`, and with a `delimiter` the common prefixes below it (the
    /// "folders"), across as many pages as the server gives (ListObjectsV2).
    public func list(
        bucket: String, prefix: String, delimiter: String? = nil, pageSize: Int? = nil, firstPageOnly: Bool = false
    ) throws(S3Error)
        -> (
            objects: [Object], prefixes: [String]
        )
    {
        var objects: [Object] = []
        var prefixes: [String] = []
        var token: String?
        repeat {
            var query = [("encoding-type", "url"), ("list-type", "2"), ("prefix", prefix)]
            if let delimiter { query.append(("delimiter", delimiter)) }
            if let pageSize { query.append(("max-keys", "\(pageSize)")) }
            if let token { query.append(("continuation-token", token)) }
            let answer = try send("GET", bucket: bucket, key: nil, query: query, payload: nil)
            guard answer.status == 200 else { throw failure(answer, bucket: bucket, key: prefix) }
            let page = ListingPage(answer.body)
            objects += page.objects
            prefixes += page.prefixes
            token = firstPageOnly ? nil : page.next
        } while token != nil
        return (objects, prefixes)
    }

    // MARK: - Requests

    /// An answer, and how many tries it took.
    struct Answer {
        let status: Int
        let headers: [String: String]
        let body: Data
        let attempts: Int
    }

    /// The path-style URL of a bucket or key, each segment percent-encoded as S3 signs it.
    func url(bucket: String, key: String?, query: [(String, String)] = []) -> String {
        var text =
            endpoint.absoluteString.hasSuffix("/")
            ? String(endpoint.absoluteString.dropLast()) : endpoint.absoluteString
        text += "/" + Self.encode(bucket)
        if let key {
            text +=
                "/"
                + key.split(separator: "/", omittingEmptySubsequences: false).map { Self.encode(String($0)) }.joined(
                    separator: "/")
        }
        // libcurl 7.88 signs the query as given: it must be canonical already (sorted, `k=v`).
        if !query.isEmpty {
            text +=
                "?"
                + query.map { (Self.encode($0.0), Self.encode($0.1)) }.sorted { $0 < $1 }.map { "\($0.0)=\($0.1)" }
                .joined(separator: "&")
        }
        return text
    }

    static func encode(_ segment: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(
            .init(charactersIn: Unicode.Scalar(0)...Unicode.Scalar(127)))
        allowed.insert(charactersIn: "-._~")
        return segment.addingPercentEncoding(withAllowedCharacters: allowed) ?? segment
    }

    /// Sends a request, retrying server errors and cut connections as ``retry`` says. A GET
    /// `into` a file writes a successful body there (the file is started over at each try).
    func send(
        _ method: String, bucket: String, key: String?, query: [(String, String)] = [], payload: Data?,
        payloadDigest: [UInt8]? = nil, headers extra: [String] = [], contentType: String = "application/octet-stream",
        into file: URL? = nil
    ) throws(S3Error) -> Answer {
        let digest = Hex.string(payloadDigest ?? Array(SHA256.hash(data: payload ?? Data())))
        var attempt = 0
        while true {
            attempt += 1
            do {
                let (status, headers, body) = try once(
                    method, bucket: bucket, key: key, query: query, payload: payload, digest: digest, headers: extra,
                    contentType: contentType, into: file)
                let code = status >= 500 || status == 429 || status == 400 ? Self.code(body) : nil
                let retryable = status >= 500 || status == 429 || ["SlowDown", "RequestTimeout"].contains(code ?? "")
                if retryable, attempt < retry.attempts {
                    pause(attempt)
                    continue
                }
                return Answer(status: status, headers: headers, body: body, attempts: attempt)
            } catch {
                // Cut connections and refused ones are retried; a local file error is not.
                guard case .unreachable(let detail) = error.kind else { throw error }
                guard attempt < retry.attempts else {
                    let tries = attempt > 1 ? ", \(attempt) tries" : ""
                    throw S3Error(.unreachable("\(endpoint.absoluteString) (\(detail)\(tries))"))
                }
                pause(attempt)
            }
        }
    }

    func pause(_ attempt: Int) {
        let delay = min(retry.maxDelay, retry.baseDelay * pow(2, Double(attempt - 1)))
        Thread.sleep(forTimeInterval: delay * Double.random(in: 0.5...1.0))
    }

    func once(
        _ method: String, bucket: String, key: String?, query: [(String, String)], payload: Data?, digest: String,
        headers extra: [String], contentType: String, into file: URL?
    ) throws(S3Error) -> (Int, [String: String], Data) {
        let request: CurlRequest
        do { request = try CurlRequest() } catch { throw S3Error(error) }
        request.set(MLOPS_CURLOPT_URL, url(bucket: bucket, key: key, query: query))
        request.set(MLOPS_CURLOPT_CUSTOMREQUEST, method)
        request.set(MLOPS_CURLOPT_AWS_SIGV4, "aws:amz:\(region):s3")
        request.set(MLOPS_CURLOPT_USERNAME, credentials.accessKeyID)
        request.set(MLOPS_CURLOPT_PASSWORD, credentials.secretAccessKey)
        request.set(MLOPS_CURLOPT_CONNECTTIMEOUT, 10)
        // A transfer stalled below 1 byte/s for 30 s is cut (and retried).
        request.set(MLOPS_CURLOPT_LOW_SPEED_LIMIT, 1)
        request.set(MLOPS_CURLOPT_LOW_SPEED_TIME, 30)
        // libcurl 7.88 does not add the payload hash S3 requires; it signs what is sent.
        request.header("x-amz-content-sha256: \(digest)")
        if let token = credentials.sessionToken { request.header("x-amz-security-token: \(token)") }
        // Never a removal header (libcurl would sign a header it does not send); a real type,
        // or curl's form type makes a server parse the body as a form.
        if payload != nil { request.header("Content-Type: \(contentType)") }
        for line in extra { request.header(line) }
        if method == "GET" || method == "DELETE" { request.set(MLOPS_CURLOPT_HTTPGET, 1) }
        if method == "HEAD" { request.set(MLOPS_CURLOPT_NOBODY, 1) }
        var handle: FileHandle?
        if let file {
            guard FileManager.default.createFile(atPath: file.path, contents: nil),
                let opened = try? FileHandle(forWritingTo: file)
            else { throw S3Error(.local(path: file.path, detail: "cannot be written")) }
            handle = opened
        }
        defer { try? handle?.close() }
        let sent = method == "GET" || method == "DELETE" || method == "HEAD" ? nil : payload
        do { return try request.perform(payload: sent, into: handle) } catch {
            // The download's own file could not be written: a local failure, not the server's.
            if case .local(let detail) = error.kind { throw S3Error(.local(path: file?.path ?? "", detail: detail)) }
            throw S3Error(error)
        }
    }

    /// The headers that carry an upload's SHA-256: S3 checks the first, downloads the second.
    static func checksumHeaders(_ digest: [UInt8]) -> [String] {
        ["x-amz-checksum-sha256: \(Data(digest).base64EncodedString())", "x-amz-meta-sha256: \(Hex.string(digest))"]
    }

    /// A download's bytes against the SHA-256 recorded at upload, when there is one.
    static func check(_ headers: [String: String], digest: [UInt8], object: String) throws(S3Error) {
        if let recorded = headers["x-amz-meta-sha256"], recorded != Hex.string(digest) {
            throw S3Error(.corrupt(object: object, expected: recorded, actual: Hex.string(digest)))
        }
    }

    public static func sha256(of file: URL) throws(S3Error) -> [UInt8] {
        do {
            let data = try Data(contentsOf: file, options: .alwaysMapped)
            return Array(SHA256.hash(data: data))
        } catch {
            throw S3Error(.local(path: file.path, detail: error.localizedDescription))
        }
    }

    /// S3's error `<Code>` in an XML body.
    static func code(_ body: Data) -> String? {
        ListingPage.elements("Code", in: String(decoding: body, as: UTF8.self)).first
    }

    func failure(_ answer: Answer, bucket: String, key: String?) -> S3Error {
        // A HEAD answer has no body: its 403 is a refusal all the same.
        let code = Self.code(answer.body) ?? (answer.status == 403 ? "AccessDenied" : "HTTP \(answer.status)")
        let object = "s3://\(bucket)" + (key.map { "/\($0)" } ?? "")
        switch code {
        case "SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "InvalidToken", "ExpiredToken":
            return S3Error(.refused(code: code, object: object, credentials: credentials.source))
        case "NoSuchBucket":
            return S3Error(.noSuchBucket(bucket))
        default:
            let tries = answer.attempts > 1 ? " after \(answer.attempts) tries" : ""
            return S3Error(
                answer.status >= 500 || answer.status == 429
                    ? .unreachable("\(object): \(code)\(tries)") : .failed(code: code, object: object))
        }
    }
}

/// One page of a ListObjectsV2 answer (asked with `encoding-type=url`, so keys and prefixes
/// come percent-encoded and need no XML entity decoding beyond that).
struct ListingPage {
    var objects: [S3Client.Object] = []
    var prefixes: [String] = []
    var next: String?

    init(_ body: Data) {
        let text = String(decoding: body, as: UTF8.self)
        for contents in Self.elements("Contents", in: text) {
            guard let key = Self.elements("Key", in: contents).first.flatMap(Self.decode) else { continue }
            let size = Self.elements("Size", in: contents).first.flatMap { Int64($0) } ?? 0
            objects.append(S3Client.Object(key: key, size: size))
        }
        for common in Self.elements("CommonPrefixes", in: text) {
            if let prefix = Self.elements("Prefix", in: common).first.flatMap(Self.decode) { prefixes.append(prefix) }
        }
        if Self.elements("IsTruncated", in: text).first == "true" {
            next = Self.elements("NextContinuationToken", in: text).first.map(Self.unescape)
        }
    }

    /// The text inside each `<name>…</name>` (not nested in one of the same name).
    static func elements(_ name: String, in text: String) -> [String] {
        var found: [String] = []
        var rest = text[...]
        while let open = rest.range(of: "<\(name)>"),
            let close = rest.range(of: "</\(name)>", range: open.upperBound..<rest.endIndex)
        {
            found.append(String(rest[open.upperBound..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        return found
    }

    static func decode(_ text: String) -> String? { unescape(text).removingPercentEncoding }

    static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}

/// Why an S3 request failed, naming the object and the setting to look at, never a secret.
public struct S3Error: MLOpsError, Equatable {
    public enum Kind: Sendable, Equatable {
        case unavailable(String)
        case noCredentials(String)
        case insecureEndpoint(String)
        case unreachable(String)
        case refused(code: String, object: String, credentials: String)
        case noSuchBucket(String)
        case failed(code: String, object: String)
        case corrupt(object: String, expected: String, actual: String)
        case local(path: String, detail: String)
        case invalidLocation(String, reason: String)
        case invalidSetting(String, reason: String)
    }

    public let kind: Kind
    public init(_ kind: Kind) { self.kind = kind }

    /// libcurl's failure as S3's.
    init(_ error: CurlError) {
        switch error.kind {
        case .unavailable(let detail): kind = .unavailable(detail)
        case .unreachable(let detail): kind = .unreachable(detail)
        case .local(let detail): kind = .local(path: "", detail: detail)
        }
    }

    public var message: String {
        switch kind {
        case .unavailable(let detail): "S3 is unavailable: \(detail)"
        case .noCredentials(let looked): "no AWS credentials: \(looked)"
        case .insecureEndpoint(let endpoint): "the S3 endpoint \(endpoint) is not https (plain http only on loopback)"
        case .unreachable(let detail): "S3 cannot be reached: \(detail)"
        case .refused(let code, let object, let credentials):
            "S3 refused \(object) (\(code)) with the credentials from \(credentials)"
        case .noSuchBucket(let bucket): "the bucket '\(bucket)' does not exist"
        case .failed(let code, let object): "S3 answered \(code) for \(object)"
        case .corrupt(let object, let expected, let actual):
            "\(object) arrived damaged: its SHA-256 is \(actual.prefix(16))…, the upload recorded \(expected.prefix(16))…"
        case .local(let path, let detail): "\(path): \(detail)"
        case .invalidLocation(let text, let reason): "'\(text)' is not an S3 location: \(reason)"
        case .invalidSetting(let setting, let reason): "\(setting): \(reason)"
        }
    }

    public var hint: String? {
        switch kind {
        case .refused: "check the access key, secret and session token, and the bucket's policy"
        case .noSuchBucket: "create it, or fix the bucket in the s3:// URL"
        case .noCredentials:
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (a CI secret), or AWS_PROFILE with ~/.aws/credentials"
        case .insecureEndpoint: "use https, an endpoint on 127.0.0.1, or set MLOPS_S3_ALLOW_HTTP=1"
        case .invalidLocation: "write it as s3://BUCKET/PREFIX"
        case .corrupt: "run the command again; if it persists, the object was changed in the bucket"
        default: nil
        }
    }

    public var exitStatus: ExitStatus {
        switch kind {
        case .unreachable, .unavailable, .local, .corrupt: .ioError
        case .noCredentials, .insecureEndpoint, .refused, .noSuchBucket, .invalidLocation, .invalidSetting: .configError
        case .failed: .ioError
        }
    }
}
