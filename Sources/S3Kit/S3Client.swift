import CCurl
import Crypto
import Foundation
import MLOpsCore

/// AWS credentials and where they came from (named in errors; the secret never is).
public struct S3Credentials: Sendable {
    public let accessKeyID: String
    let secretAccessKey: String
    public let sessionToken: String?
    /// `the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)`, say.
    public let source: String

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, source: String) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.source = source
    }

    /// From `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`.
    public static func fromEnvironment(_ environment: [String: String]) throws(S3Error) -> S3Credentials {
        guard let key = environment["AWS_ACCESS_KEY_ID"], !key.isEmpty,
            let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty
        else {
            throw S3Error(.noCredentials)
        }
        let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        return S3Credentials(
            accessKeyID: key, secretAccessKey: secret, sessionToken: token,
            source: "the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)")
    }
}

/// A small S3 client: objects put (optionally only when absent), got and deleted, buckets
/// made, every request signed with AWS Signature V4 by libcurl (docs/design/shared-storage.md).
/// A custom endpoint is addressed path-style (`ENDPOINT/BUCKET/KEY`), as MinIO and moto want.
public struct S3Client: Sendable {
    public let endpoint: URL
    public let region: String
    public let credentials: S3Credentials

    /// Plain HTTP only for a loopback endpoint, unless `allowHTTP`.
    public init(endpoint: URL, region: String, credentials: S3Credentials, allowHTTP: Bool = false) throws(S3Error) {
        if endpoint.scheme == "http", !allowHTTP, !["127.0.0.1", "localhost", "::1"].contains(endpoint.host ?? "") {
            throw S3Error(.insecureEndpoint(endpoint.absoluteString))
        }
        guard endpoint.scheme == "http" || endpoint.scheme == "https" else {
            throw S3Error(.insecureEndpoint(endpoint.absoluteString))
        }
        self.endpoint = endpoint
        self.region = region
        self.credentials = credentials
    }

    public enum PutOutcome: Sendable, Equatable {
        case created
        /// `ifAbsent` and the key exists already (HTTP 412): another writer was first.
        case alreadyExists
    }

    /// Creates `bucket` (an existing one owned by these credentials is fine).
    public func createBucket(_ bucket: String) throws(S3Error) {
        let (status, body) = try send("PUT", bucket: bucket, key: nil, payload: Data())
        guard status == 200 || (status == 409 && Self.code(body) == "BucketAlreadyOwnedByYou") else {
            throw failure(status, body, bucket: bucket, key: nil)
        }
    }

    /// Writes `data` at `key`; with `ifAbsent` only when no object is there (`If-None-Match: *`).
    @discardableResult
    public func put(bucket: String, key: String, data: Data, ifAbsent: Bool = false) throws(S3Error) -> PutOutcome {
        let (status, body) = try send(
            "PUT", bucket: bucket, key: key, payload: data, extra: ifAbsent ? ["If-None-Match: *"] : [])
        if status == 412 { return .alreadyExists }
        guard status == 200 else { throw failure(status, body, bucket: bucket, key: key) }
        return .created
    }

    /// The object at `key`, nil when there is none.
    public func get(bucket: String, key: String) throws(S3Error) -> Data? {
        let (status, body) = try send("GET", bucket: bucket, key: key, payload: nil)
        if status == 404, Self.code(body) == "NoSuchKey" { return nil }
        guard status == 200 else { throw failure(status, body, bucket: bucket, key: key) }
        return body
    }

    public func delete(bucket: String, key: String) throws(S3Error) {
        let (status, body) = try send("DELETE", bucket: bucket, key: key, payload: nil)
        guard status == 204 || status == 200 else { throw failure(status, body, bucket: bucket, key: key) }
    }

    /// The path-style URL of a bucket or key, each segment percent-encoded as S3 signs it.
    func url(bucket: String, key: String?) -> String {
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
        return text
    }

    static func encode(_ segment: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(
            .init(charactersIn: Unicode.Scalar(0)...Unicode.Scalar(127)))
        allowed.insert(charactersIn: "-._~")
        return segment.addingPercentEncoding(withAllowedCharacters: allowed) ?? segment
    }

    func send(_ method: String, bucket: String, key: String?, payload: Data?, extra: [String] = []) throws(S3Error)
        -> (status: Int, body: Data)
    {
        let request = try CurlRequest()
        request.set(MLOPS_CURLOPT_URL, url(bucket: bucket, key: key))
        request.set(MLOPS_CURLOPT_CUSTOMREQUEST, method)
        request.set(MLOPS_CURLOPT_AWS_SIGV4, "aws:amz:\(region):s3")
        request.set(MLOPS_CURLOPT_USERNAME, credentials.accessKeyID)
        request.set(MLOPS_CURLOPT_PASSWORD, credentials.secretAccessKey)
        request.set(MLOPS_CURLOPT_CONNECTTIMEOUT, 10)
        // libcurl 7.88 does not add the payload hash S3 requires; it signs what is sent.
        let digest = SHA256.hash(data: payload ?? Data()).map { String(format: "%02x", $0) }.joined()
        request.header("x-amz-content-sha256: \(digest)")
        if let token = credentials.sessionToken { request.header("x-amz-security-token: \(token)") }
        if payload != nil { request.header("Content-Type: application/octet-stream") }
        for line in extra { request.header(line) }
        if method == "GET" || method == "DELETE" { request.set(MLOPS_CURLOPT_HTTPGET, 1) }
        return try request.perform(payload: method == "GET" || method == "DELETE" ? nil : payload)
    }

    /// S3's error `<Code>` in an XML body.
    static func code(_ body: Data) -> String? {
        let text = String(decoding: body, as: UTF8.self)
        guard let start = text.range(of: "<Code>"),
            let end = text.range(of: "</Code>", range: start.upperBound..<text.endIndex)
        else { return nil }
        return String(text[start.upperBound..<end.lowerBound])
    }

    func failure(_ status: Int, _ body: Data, bucket: String, key: String?) -> S3Error {
        let code = Self.code(body) ?? "HTTP \(status)"
        let object = "s3://\(bucket)" + (key.map { "/\($0)" } ?? "")
        switch code {
        case "SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "InvalidToken", "ExpiredToken":
            return S3Error(.refused(code: code, object: object, credentials: credentials.source))
        case "NoSuchBucket":
            return S3Error(.noSuchBucket(bucket))
        default:
            return S3Error(status >= 500 ? .unreachable("\(object): \(code)") : .failed(code: code, object: object))
        }
    }
}

/// Why an S3 request failed, naming the object and the setting to look at, never a secret.
public struct S3Error: MLOpsError, Equatable {
    public enum Kind: Sendable, Equatable {
        case unavailable(String)
        case noCredentials
        case insecureEndpoint(String)
        case unreachable(String)
        case refused(code: String, object: String, credentials: String)
        case noSuchBucket(String)
        case failed(code: String, object: String)
    }

    public let kind: Kind
    public init(_ kind: Kind) { self.kind = kind }

    public var message: String {
        switch kind {
        case .unavailable(let detail): "S3 is unavailable: \(detail)"
        case .noCredentials: "no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"
        case .insecureEndpoint(let endpoint): "the S3 endpoint \(endpoint) is not https (plain http only on loopback)"
        case .unreachable(let detail): "S3 cannot be reached: \(detail)"
        case .refused(let code, let object, let credentials):
            "S3 refused \(object) (\(code)) with the credentials from \(credentials)"
        case .noSuchBucket(let bucket): "the bucket '\(bucket)' does not exist"
        case .failed(let code, let object): "S3 answered \(code) for \(object)"
        }
    }

    public var hint: String? {
        switch kind {
        case .refused: "check the access key, secret and session token, and the bucket's policy"
        case .noSuchBucket: "create it, or fix the bucket in the s3:// URL"
        case .noCredentials: "set them in the environment (a CI secret)"
        case .insecureEndpoint: "use https, or an endpoint on 127.0.0.1"
        default: nil
        }
    }

    public var exitStatus: ExitStatus {
        switch kind {
        case .unreachable, .unavailable: .ioError
        case .noCredentials, .insecureEndpoint, .refused, .noSuchBucket: .configError
        case .failed: .ioError
        }
    }
}
