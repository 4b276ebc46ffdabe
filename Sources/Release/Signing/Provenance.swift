import Crypto
import Foundation
import MLOpsCore

/// Any JSON value, for the parts of the provenance whose shape is the configuration's.
public indirect enum JSONTree: Sendable, Codable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONTree])
    case object([String: JSONTree])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONTree].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONTree].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// Any encodable value as a tree (through its JSON).
    public init(_ value: some Encodable) throws {
        self = try BundleJSON.decode(JSONTree.self, try BundleJSON.encode(value))
    }
}

/// An in-toto Statement v1 with an SLSA provenance v1 predicate (`provenance.json`): the
/// bundle's files as subjects, the pipeline configuration as the external parameters, the
/// commit and data sources as resolved dependencies, the builder from the CI environment.
public struct ProvenanceStatement: Sendable, Codable, Equatable {
    public static let statementType = "https://in-toto.io/Statement/v1"
    public static let predicateType = "https://slsa.dev/provenance/v1"
    /// What mlops's releases are (documented in docs/release.md).
    public static let buildType = "https://mlops.invalid/buildtypes/release/v1"
    public static let fileName = "provenance.json"

    public struct ResourceDescriptor: Sendable, Codable, Equatable {
        public var uri: String?
        public var name: String?
        public var digest: [String: String]
        public var annotations: [String: JSONTree]?

        public init(
            uri: String? = nil, name: String? = nil, digest: [String: String], annotations: [String: JSONTree]? = nil
        ) {
            self.uri = uri
            self.name = name
            self.digest = digest
            self.annotations = annotations
        }
    }

    public struct Builder: Sendable, Codable, Equatable {
        public let id: String
        public let version: [String: String]?
    }

    public struct Metadata: Sendable, Codable, Equatable {
        public let invocationId: String?
        public let startedOn: String?
        public let finishedOn: String?
    }

    public struct RunDetails: Sendable, Codable, Equatable {
        public let builder: Builder
        public let metadata: Metadata?
        public let byproducts: [ResourceDescriptor]?
    }

    public struct BuildDefinition: Sendable, Codable, Equatable {
        public let buildType: String
        public let externalParameters: [String: JSONTree]
        public let internalParameters: [String: JSONTree]?
        public let resolvedDependencies: [ResourceDescriptor]
    }

    public struct Predicate: Sendable, Codable, Equatable {
        public let buildDefinition: BuildDefinition
        public let runDetails: RunDetails
    }

    public let type: String
    public let subject: [ResourceDescriptor]
    public let predicateType: String
    public let predicate: Predicate

    enum CodingKeys: String, CodingKey { case type = "_type", subject, predicateType, predicate }

    public init(
        subjects: [ResourceDescriptor], externalParameters: [String: JSONTree], dependencies: [ResourceDescriptor],
        builder: CIBuilder
    ) {
        type = Self.statementType
        subject = subjects
        predicateType = Self.predicateType
        predicate = Predicate(
            buildDefinition: BuildDefinition(
                buildType: Self.buildType, externalParameters: externalParameters,
                internalParameters: builder.internalParameters, resolvedDependencies: dependencies),
            runDetails: RunDetails(
                builder: Builder(id: builder.id, version: ["mlops": MLOpsVersion.current]),
                metadata: builder.invocation.map { Metadata(invocationId: $0, startedOn: nil, finishedOn: nil) },
                byproducts: nil))
    }

    public func encoded() throws -> Data { try BundleJSON.encode(self) }
}

/// Who built the release, from the CI environment: GitHub Actions, GitLab CI, or a local run.
public struct CIBuilder: Sendable, Equatable {
    public let id: String
    public let invocation: String?
    public let internalParameters: [String: JSONTree]?

    public init(environment: [String: String]) {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        if value("GITHUB_ACTIONS") == "true", let server = value("GITHUB_SERVER_URL"),
            let repository = value("GITHUB_REPOSITORY")
        {
            // The workflow file is what builds; its ref names it (owner/repo/.github/workflows/x.yml@ref).
            id =
                value("GITHUB_WORKFLOW_REF").map { "\(server)/\($0)" }
                ?? "\(server)/\(repository)/.github/workflows"
            invocation = value("GITHUB_RUN_ID").map {
                "\(server)/\(repository)/actions/runs/\($0)/attempts/\(value("GITHUB_RUN_ATTEMPT") ?? "1")"
            }
            internalParameters = ["ci": .string("github-actions")]
        } else if value("GITLAB_CI") == "true", let server = value("CI_SERVER_URL"),
            let project = value("CI_PROJECT_PATH")
        {
            id = "\(server)/\(project)/-/blob/\(value("CI_COMMIT_SHA") ?? "HEAD")/.gitlab-ci.yml"
            invocation = value("CI_JOB_URL")
            internalParameters = ["ci": .string("gitlab-ci")]
        } else {
            id = "https://mlops.invalid/builders/local"
            invocation = nil
            internalParameters = nil
        }
    }
}

/// A DSSE envelope (`provenance.dsse.json`): the statement's bytes, base64, signed with
/// Ed25519 over DSSE's pre-authentication encoding.
public struct DSSEEnvelope: Sendable, Codable, Equatable {
    public static let payloadType = "application/vnd.in-toto+json"
    public static let fileName = "provenance.dsse.json"

    public struct Signature: Sendable, Codable, Equatable {
        public let keyid: String
        public let sig: String
    }

    public let payloadType: String
    public let payload: String
    public let signatures: [Signature]

    /// `DSSEv1 <len(type)> <type> <len(body)> <body>`, lengths in ASCII decimal.
    static func preAuthenticationEncoding(type: String, body: Data) -> Data {
        var data = Data("DSSEv1 \(type.utf8.count) \(type) \(body.count) ".utf8)
        data.append(body)
        return data
    }

    public static func sign(_ payload: Data, with key: Curve25519.Signing.PrivateKey) throws -> DSSEEnvelope {
        let signature = try key.signature(for: preAuthenticationEncoding(type: payloadType, body: payload))
        return DSSEEnvelope(
            payloadType: payloadType, payload: payload.base64EncodedString(),
            signatures: [
                Signature(keyid: SigningKeys.keyID(key.publicKey), sig: Data(signature).base64EncodedString())
            ])
    }

    /// The payload, when one signature verifies with one of `keys`; nil otherwise.
    public func verifiedPayload(keys: [Curve25519.Signing.PublicKey]) -> (
        body: Data, key: Curve25519.Signing.PublicKey
    )? {
        guard payloadType == Self.payloadType, let body = Data(base64Encoded: payload) else { return nil }
        let message = Self.preAuthenticationEncoding(type: payloadType, body: body)
        for signature in signatures {
            guard let bytes = Data(base64Encoded: signature.sig) else { continue }
            // Any trusted key may have made any signature: the key id is a hint DSSE does not
            // require, so the key that verified is the one reported.
            for key in keys where key.isValidSignature(bytes, for: message) { return (body, key) }
        }
        return nil
    }

    public func encoded() throws -> Data { try BundleJSON.encode(self) }
}
