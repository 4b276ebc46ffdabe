import Foundation
import MLOpsCore

/// AWS credentials and where they came from (named in errors; the secret never is, not even
/// when the value is printed or dumped).
public struct S3Credentials: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
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

    public var description: String { "S3Credentials(\(accessKeyID), secret hidden, from \(source))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["accessKeyID": accessKeyID, "source": source]) }

    /// From `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` alone.
    public static func fromEnvironment(_ environment: [String: String]) throws(S3Error) -> S3Credentials {
        guard let credentials = environmentCredentials(environment) else {
            throw S3Error(.noCredentials("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"))
        }
        return credentials
    }

    static func environmentCredentials(_ environment: [String: String]) -> S3Credentials? {
        guard let key = environment["AWS_ACCESS_KEY_ID"], !key.isEmpty,
            let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty
        else { return nil }
        let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        return S3Credentials(
            accessKeyID: key, secretAccessKey: secret, sessionToken: token,
            source: "the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)")
    }
}

/// `s3://BUCKET/PREFIX`: a bucket and a key prefix (no leading or trailing slash; may be empty).
public struct S3Location: Sendable, Hashable, CustomStringConvertible {
    public let bucket: String
    public let prefix: String

    public init(bucket: String, prefix: String) {
        self.bucket = bucket
        self.prefix = prefix
    }

    public init(parsing text: String) throws(S3Error) {
        guard text.hasPrefix("s3://") else {
            throw S3Error(.invalidLocation(text, reason: "it does not start with s3://"))
        }
        let rest = text.dropFirst("s3://".count)
        let parts = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let bucket = String(parts[0])
        // S3's bucket naming rules: 3 to 63 lower-case letters, digits, dots and hyphens.
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789.-")
        guard (3...63).contains(bucket.count), bucket.allSatisfy(allowed.contains),
            bucket.first?.isLetter == true || bucket.first?.isNumber == true
        else {
            throw S3Error(
                .invalidLocation(
                    text, reason: "'\(bucket)' is not a bucket name (3 to 63 lower-case letters, digits, dots, hyphens)"
                ))
        }
        var prefix = parts.count > 1 ? String(parts[1]) : ""
        while prefix.hasSuffix("/") { prefix.removeLast() }
        guard !prefix.hasPrefix("/"), !prefix.contains("//"), !prefix.split(separator: "/").contains("..") else {
            throw S3Error(.invalidLocation(text, reason: "the prefix '\(prefix)' has an empty or '..' segment"))
        }
        self.bucket = bucket
        self.prefix = prefix
    }

    /// The key of `path` under the prefix.
    public func key(_ path: String) -> String { prefix.isEmpty ? path : "\(prefix)/\(path)" }

    /// The location of `path` under this one.
    public func appending(_ path: String) -> S3Location { S3Location(bucket: bucket, prefix: key(path)) }

    public var description: String { prefix.isEmpty ? "s3://\(bucket)" : "s3://\(bucket)/\(prefix)" }
}

/// The client the AWS settings describe, found as botocore finds them:
///
/// - credentials: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`, else the
///   profile (`AWS_PROFILE`, else `default`) in `AWS_SHARED_CREDENTIALS_FILE` (`~/.aws/credentials`),
///   else in `AWS_CONFIG_FILE` (`~/.aws/config`, section `[profile NAME]`);
/// - region: `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`, else `us-east-1`;
/// - endpoint: `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, the profile's `endpoint_url`, else
///   AWS's regional endpoint;
/// - plain `http://` only on loopback, or with `MLOPS_S3_ALLOW_HTTP=1`.
public enum S3Settings {
    public static func client(environment: [String: String]) throws(S3Error) -> S3Client {
        let home = environment["HOME"].map { URL(fileURLWithPath: $0) }
        let profileName = environment["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 }
        let profile = profileName ?? "default"
        let credentialsFile =
            environment["AWS_SHARED_CREDENTIALS_FILE"].map { URL(fileURLWithPath: $0) }
            ?? home?.appendingPathComponent(".aws/credentials")
        let configFile =
            environment["AWS_CONFIG_FILE"].map { URL(fileURLWithPath: $0) }
            ?? home?.appendingPathComponent(".aws/config")
        let shared = try credentialsFile.map { file throws(S3Error) in try INIFile.read(file) } ?? nil
        let config = try configFile.map { file throws(S3Error) in try INIFile.read(file) } ?? nil
        let fromCredentials = shared?.sections[profile]
        let fromConfig = config?.sections[profile == "default" ? "default" : "profile \(profile)"]
        if profileName != nil, fromCredentials == nil, fromConfig == nil,
            S3Credentials.environmentCredentials(environment) == nil
        {
            throw S3Error(
                .invalidSetting(
                    "AWS_PROFILE",
                    reason: "the profile '\(profile)' is in neither \(credentialsFile?.path ?? "~/.aws/credentials") "
                        + "nor \(configFile?.path ?? "~/.aws/config")"))
        }

        var credentials = S3Credentials.environmentCredentials(environment)
        for (section, file) in [(fromCredentials, credentialsFile), (fromConfig, configFile)] where credentials == nil {
            guard let section, let key = section["aws_access_key_id"], !key.isEmpty else { continue }
            guard let secret = section["aws_secret_access_key"], !secret.isEmpty else {
                throw S3Error(
                    .invalidSetting(
                        "\(file?.path ?? "") [\(profile)]",
                        reason: "aws_access_key_id is set, aws_secret_access_key is not"
                    ))
            }
            credentials = S3Credentials(
                accessKeyID: key, secretAccessKey: secret, sessionToken: section["aws_session_token"],
                source: "the profile '\(profile)' in \(file?.path ?? "")")
        }
        guard let credentials else {
            throw S3Error(
                .noCredentials(
                    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set, and the profile '\(profile)' has none in "
                        + "\(credentialsFile?.path ?? "~/.aws/credentials") or \(configFile?.path ?? "~/.aws/config")"))
        }

        let region =
            [environment["AWS_REGION"], environment["AWS_DEFAULT_REGION"], fromConfig?["region"]].compactMap { $0 }
            .first { !$0.isEmpty } ?? "us-east-1"
        let endpointSetting = [
            ("AWS_ENDPOINT_URL_S3", environment["AWS_ENDPOINT_URL_S3"]),
            ("AWS_ENDPOINT_URL", environment["AWS_ENDPOINT_URL"]),
            ("endpoint_url of the profile '\(profile)'", fromConfig?["endpoint_url"]),
        ].first { !($0.1 ?? "").isEmpty }
        let endpointText = endpointSetting?.1 ?? "https://s3.\(region).amazonaws.com"
        guard let endpoint = URL(string: endpointText), endpoint.host != nil else {
            throw S3Error(
                .invalidSetting(endpointSetting?.0 ?? "AWS_REGION", reason: "'\(endpointText)' is not an endpoint URL"))
        }
        return try S3Client(
            endpoint: endpoint, region: region, credentials: credentials,
            allowHTTP: environment["MLOPS_S3_ALLOW_HTTP"] == "1")
    }
}

/// The INI files the AWS tools share: `[section]` headers and `key = value` lines; `#` and `;`
/// start comments; indented lines (nested `s3 =` settings) are skipped.
struct INIFile {
    var sections: [String: [String: String]] = [:]

    /// nil when the file does not exist.
    static func read(_ file: URL) throws(S3Error) -> INIFile? {
        guard FileManager.default.fileExists(atPath: file.path) else { return nil }
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw S3Error(.local(path: file.path, detail: "cannot be read"))
        }
        var result = INIFile()
        var current: String?
        for (number, raw) in String(decoding: data, as: UTF8.self).split(
            separator: "\n", omittingEmptySubsequences: false
        ).enumerated() {
            if raw.first == " " || raw.first == "\t" { continue }
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else {
                    throw S3Error(.invalidSetting("\(file.path):\(number + 1)", reason: "a section header without ']'"))
                }
                let name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                current = name
                result.sections[name, default: [:]] = result.sections[name] ?? [:]
                continue
            }
            guard let current, let equals = line.firstIndex(of: "=") else {
                throw S3Error(
                    .invalidSetting("\(file.path):\(number + 1)", reason: "expected `key = value` inside a [section]"))
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            result.sections[current, default: [:]][key] = value
        }
        return result
    }
}
