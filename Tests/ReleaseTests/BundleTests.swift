import ArchiveKit
import Crypto
import Foundation
import Gates
import MLOpsCore
import MLOpsTestSupport
import Release
import Testing

/// A raw ustar archive built byte by byte, to make the hostile archives no honest writer makes.
struct TarBuilder {
    var bytes: [UInt8] = []

    /// One header; `size` beyond the 11 octal digits of the field is written in base-256.
    /// With `sparse`, an old-GNU sparse entry (type `S`): the real size it declares and its
    /// data regions (at most four), the rest holes.
    mutating func entry(
        _ name: String, type: Character = "0", size: Int64 = 0, link: String = "", data: [UInt8]? = nil,
        sparse: (realSize: Int64, regions: [(offset: Int64, length: Int64)])? = nil
    ) {
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int, length: Int) {
            for (index, byte) in text.utf8.prefix(length).enumerated() { header[offset + index] = byte }
        }
        func octal(_ value: Int64, at offset: Int, length: Int) {
            put(
                String(repeating: "0", count: max(0, length - 1 - String(value, radix: 8).count))
                    + String(value, radix: 8), at: offset, length: length - 1)
        }
        put(name, at: 0, length: 100)
        octal(0o644, at: 100, length: 8)
        octal(0, at: 108, length: 8)
        octal(0, at: 116, length: 8)
        if size < 0o77777777777 {
            octal(size, at: 124, length: 12)
        } else {
            header[124] = 0x80
            for index in 0..<8 { header[135 - index] = UInt8(truncatingIfNeeded: size >> (8 * index)) }
        }
        octal(0, at: 136, length: 12)
        header[156] = type.asciiValue ?? UInt8(ascii: "0")
        put(link, at: 157, length: 100)
        if let sparse {
            put("ustar  ", at: 257, length: 8)  // GNU magic and version
            for (index, region) in sparse.regions.prefix(4).enumerated() {
                octal(region.offset, at: 386 + 24 * index, length: 12)
                octal(region.length, at: 398 + 24 * index, length: 12)
            }
            octal(sparse.realSize, at: 483, length: 12)
        } else {
            put("ustar", at: 257, length: 6)
            put("00", at: 263, length: 2)
        }
        put("root", at: 265, length: 32)
        put("root", at: 297, length: 32)
        for index in 148..<156 { header[index] = UInt8(ascii: " ") }
        let sum = header.reduce(0) { $0 + Int($1) }
        put(String(repeating: "0", count: 6 - String(sum, radix: 8).count) + String(sum, radix: 8), at: 148, length: 6)
        header[154] = 0
        bytes += header
        if let data {
            bytes += data
            bytes += [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
        }
    }

    func finished() -> Data { Data(bytes + [UInt8](repeating: 0, count: 1024)) }
}

@Suite struct BundleTests {
    let directory: TemporaryDirectory

    init() throws { directory = try TemporaryDirectory() }

    func description(version: String = "1.0.0", blessed: Bool = true) -> BundleWriter.Description {
        BundleWriter.Description(
            name: "taxi", version: version, time: 1_700_000_000,
            git: .init(
                commit: String(repeating: "a", count: 40), branch: "main", remote: "https://example.invalid/r.git",
                dirty: false),
            data: .init(
                spans: [3],
                sources: [
                    .init(path: "data/span-3/a.csv", fingerprint: "git:" + String(repeating: "b", count: 40), span: 3)
                ],
                examples: "sha256:" + String(repeating: "c", count: 64)),
            configSHA256: String(repeating: "d", count: 64),
            executions: [.init(component: "Trainer", execution: 7, cacheKey: "k", outputs: ["model": "sha256:e"])],
            gates: .init(
                modelBlessed: blessed, infraBlessed: true, metrics: ["auc": 0.9], baselineMetrics: nil, baseline: nil,
                checks: [
                    CheckResult(
                        className: "mlops.gate.evaluation.overall", name: "auc >= 0.7",
                        outcome: blessed ? .passed : .failed,
                        detail: "auc = 0.9")
                ]),
            externalParameters: ["config": .object(["trainer": .object(["rounds": .number(100)])])],
            builder: CIBuilder(environment: [:]))
    }

    var entries: [BundleWriter.Entry] {
        [
            .init("model/model.json", .data(Data(#"{"trees": [1, 2, 3]}"#.utf8))),
            .init("model/transform.json", .data(Data("{}".utf8))),
            .init("reports/gate.md", .data(Data("# blessed\n".utf8))),
        ]
    }

    func write(_ name: String, key: Curve25519.Signing.PrivateKey? = nil, version: String = "1.0.0") throws -> (
        URL, BundleWriter.Written
    ) {
        let url = directory.url.appendingPathComponent(name)
        let written = try BundleWriter(compressionLevel: 19, signingKey: key).write(
            entries, description: description(version: version), to: url)
        return (url, written)
    }

    /// The bundle's entries as (name, bytes), in order.
    func entries(of url: URL) throws -> [(String, Data)] {
        let reader = try ArchiveReader(path: url.path)
        var result: [(String, Data)] = []
        while let entry = try reader.next() { result.append((entry.path, try reader.readData(limit: 1 << 30))) }
        return result
    }

    /// A bundle of `files` written as is (names and bytes chosen by the test).
    func rewrite(_ files: [(String, Data)], to name: String) throws -> URL {
        let url = directory.url.appendingPathComponent(name)
        let writer = try ArchiveWriter(path: url.path, compression: .zstd(level: 3))
        for (path, data) in files { try writer.addFile(path, data: data) }
        try writer.finish()
        return url
    }

    @Test func theSameInputsGiveTheSameBytesAndTheBundleVerifies() throws {
        let key = SigningKeys.generate()
        let (first, written) = try write("a.tar.zst", key: key)
        let (second, _) = try write("b.tar.zst", key: key)
        let (a, b) = (try Data(contentsOf: first), try Data(contentsOf: second))
        #expect(a == b)
        // Another version is another manifest, so another identity.
        let (third, other) = try write("c.tar.zst", key: key, version: "1.0.1")
        let (thirdBytes, firstBytes) = (try Data(contentsOf: third), try Data(contentsOf: first))
        #expect(other.identity != written.identity && thirdBytes != firstBytes)
        // Sorted entries, fixed metadata; what `tar --zstd -xf` reads.
        let reader = try ArchiveReader(path: first.path)
        var names: [String] = []
        while let entry = try reader.next() {
            names.append(entry.path)
            #expect(
                entry.modificationTime == 1_700_000_000 && entry.userID == 0 && entry.owner == "root"
                    && entry.permissions == 0o644)
        }
        #expect(reader.filters.first == "zstd")
        #expect(
            names == [
                "manifest.json", "model/model.json", "model/transform.json", "provenance.dsse.json", "provenance.json",
                "reports/gate.md",
            ])
        let verified = try BundleReader.open(first, signatures: .requiring([key.publicKey]), expected: written.identity)
        #expect(verified.manifest.files.map(\.path) == ["model/model.json", "model/transform.json", "reports/gate.md"])
        #expect(verified.signedBy == SigningKeys.keyID(key.publicKey))
        #expect("sha256:" + Hex.string(SHA256.hash(data: try written.manifest.encoded())) == written.identity)
        // Extracted: the files, whole, and nothing else.
        let target = directory.url.appendingPathComponent("out")
        _ = try BundleReader.open(first, signatures: .requiring([]), extractTo: target)
        #expect(
            try String(contentsOf: target.appendingPathComponent("model/model.json"), encoding: .utf8)
                == #"{"trees": [1, 2, 3]}"#)
        #expect(FileManager.default.fileExists(atPath: target.appendingPathComponent("manifest.json").path))
    }

    @Test func oneChangedByteIsNamedAndAnEditedManifestFailsTheSignature() throws {
        let key = SigningKeys.generate()
        let (bundle, written) = try write("signed.tar.zst", key: key)
        var files = try entries(of: bundle)
        let index = try #require(files.firstIndex { $0.0 == "model/model.json" })
        var model = files[index].1
        model[model.startIndex + 11] = UInt8(ascii: "9")  // [1, 2, 3] → [9, 2, 3]
        files[index].1 = model
        let tampered = try rewrite(files, to: "tampered.tar.zst")
        #expect {
            try BundleReader.open(tampered, signatures: .requiring([key.publicKey]))
        } throws: { error in
            guard let error = error as? BundleError, case .fileMismatch(let path, _, _) = error.problem else {
                return false
            }
            return path == "model/model.json"
                && error.message.contains("'model/model.json' does not match manifest.json")
                && error.exitStatus == .verdictFailed
        }
        // The attacker rebuilds the manifest and provenance to match, but cannot sign them.
        var forged = entries
        forged[0] = .init("model/model.json", .data(model))
        let (rebuilt, _) = try {
            let url = directory.url.appendingPathComponent("forged-unsigned.tar.zst")
            return (url, try BundleWriter(signingKey: nil).write(forged, description: description(), to: url))
        }()
        var forgedFiles = try entries(of: rebuilt)
        forgedFiles.append(try #require(try entries(of: bundle).first { $0.0 == DSSEEnvelope.fileName }))
        let edited = try rewrite(forgedFiles, to: "forged.tar.zst")
        #expect {
            try BundleReader.open(edited, signatures: .requiring([key.publicKey]))
        } throws: { error in
            guard let error = error as? BundleError, case .signatureInvalid(let detail) = error.problem else {
                return false
            }
            return detail == "the signed statement is not provenance.json"
        }
        // Without the signature at all, a configured key still refuses it…
        #expect {
            try BundleReader.open(rebuilt, signatures: .requiring([key.publicKey]))
        } throws: { ($0 as? BundleError)?.problem == .signatureMissing("keys were given") }
        // …and a key that did not sign it refuses the original.
        #expect {
            try BundleReader.open(bundle, signatures: .requiring([SigningKeys.generate().publicKey]))
        } throws: { error in
            guard case .signatureInvalid = (error as? BundleError)?.problem else { return false }
            return true
        }
        // The registry's recorded identity catches a swapped bundle even unsigned.
        #expect {
            try BundleReader.open(rebuilt, signatures: .requiring([]), expected: written.identity)
        } throws: { error in
            guard case .identityMismatch = (error as? BundleError)?.problem else { return false }
            return true
        }
    }

    @Test(arguments: [
        ("../x", Character("0"), "", "a '..' component leaves the destination"),
        ("/etc/cron.d/x", Character("0"), "", "an absolute path"),
        ("model/link", Character("2"), "/etc", "a link (to '/etc')"),
        ("model/hard", Character("1"), "model/model.json", "a link (to 'model/model.json')"),
        ("model/dev", Character("3"), "", "a characterDevice entry"),
        ("model/fifo", Character("6"), "", "a fifo entry"),
    ])
    func hostileEntriesAreRefusedAndNothingIsWritten(name: String, type: Character, link: String, reason: String) throws
    {
        var tar = TarBuilder()
        tar.entry("model/model.json", size: 2, data: Array("{}".utf8))
        tar.entry(name, type: type, size: type == "0" ? 2 : 0, link: link, data: type == "0" ? Array("hi".utf8) : nil)
        let url = directory.url.appendingPathComponent("hostile.tar")
        try tar.finished().write(to: url)
        let target = directory.url.appendingPathComponent("target")
        #expect {
            try BundleReader.open(url, signatures: .requiring([]), extractTo: target)
        } throws: { error in
            (error as? BundleError)?.problem == .unsafeEntry(entry: name, reason: reason)
        }
        // Nothing was left: not the destination, not a staging folder, not the entry.
        let left = try FileManager.default.contentsOfDirectory(atPath: directory.url.path)
        #expect(left == ["hostile.tar"], "\(left)")
    }

    /// A bundle is read as `mlops release` writes it, nothing more: zstd or no compression (no
    /// other filter, none that would run an external program), and no sparse entry, whose
    /// holes a reader would fill with zeros up to any size the header declares.
    @Test func anotherCompressionAndASparseEntryAreRefused() throws {
        let gzipped = directory.url.appendingPathComponent("gzipped.tar.gz")
        let writer = try ArchiveWriter(path: gzipped.path, compression: .gzip())
        try writer.addFile("model/model.json", data: Data("{}".utf8))
        try writer.finish()
        #expect(try ArchiveReader(path: gzipped.path).next()?.path == "model/model.json")  // a valid archive
        #expect {
            try BundleReader.open(gzipped, signatures: .requiring([]))
        } throws: { error in
            guard case .unreadable = (error as? BundleError)?.problem else { return false }
            return true
        }

        var tar = TarBuilder()
        tar.entry(
            "model/model.json", type: "S", size: 512, data: [UInt8](repeating: 0x7B, count: 512),
            sparse: (realSize: 1 << 30, regions: [(0, 512)]))
        let url = directory.url.appendingPathComponent("sparse.tar")
        try tar.finished().write(to: url)
        // libarchive reads it as a sparse entry of 1 GiB…
        let reader = try ArchiveReader(path: url.path)
        #expect(try reader.next()?.size == 1 << 30)
        try reader.close()
        // …and a bundle refuses it, writing nothing.
        let target = directory.url.appendingPathComponent("target")
        #expect {
            try BundleReader.open(url, signatures: .requiring([]), extractTo: target)
        } throws: { error in
            guard case .unsafeEntry(let entry, let reason) = (error as? BundleError)?.problem else { return false }
            return entry == "model/model.json" && reason.contains("sparse entry")
        }
        #expect(!FileManager.default.fileExists(atPath: target.path))
        #expect(throws: ArchiveError.self) {
            let strict = try ArchiveReader(path: url.path, policy: .bundle)
            _ = try strict.next()
        }
    }

    @Test func aTerabyteHeaderATruncatedBundleAndALyingSizeAreRefused() throws {
        var tar = TarBuilder()
        tar.entry("model/model.json", size: 1 << 40)
        let huge = directory.url.appendingPathComponent("huge.tar")
        try tar.finished().write(to: huge)
        #expect {
            try BundleReader.read(huge)
        } throws: { error in
            (error as? BundleError)?.problem == .entryTooLarge(entry: "model/model.json", size: 1 << 40, limit: 8 << 30)
        }
        let (bundle, _) = try write("whole.tar.zst")
        let bytes = try Data(contentsOf: bundle)
        let truncated = directory.url.appendingPathComponent("truncated.tar.zst")
        try bytes.prefix(bytes.count / 2).write(to: truncated)
        #expect {
            try BundleReader.open(truncated, signatures: .requiring([]))
        } throws: { error in
            guard let error = error as? BundleError, case .unreadable = error.problem else { return false }
            return error.message.hasPrefix("bundle '\(truncated.path)': it cannot be read as a tar archive")
        }
        // Caps are the caller's: a small limit refuses an entry honest about its size.
        var limits = BundleReader.Limits()
        limits.maxEntryBytes = 10
        #expect {
            try BundleReader.read(bundle, limits: limits)
        } throws: { error in
            guard case .entryTooLarge = (error as? BundleError)?.problem else { return false }
            return true
        }
        limits = BundleReader.Limits()
        limits.maxEntries = 3
        #expect(throws: BundleError(bundle.path, .tooManyEntries(limit: 3))) {
            try BundleReader.read(bundle, limits: limits)
        }
        // The same path twice.
        var twice = TarBuilder()
        twice.entry("model/model.json", size: 2, data: Array("{}".utf8))
        twice.entry("model/model.json", size: 2, data: Array("[]".utf8))
        let duplicate = directory.url.appendingPathComponent("twice.tar")
        try twice.finished().write(to: duplicate)
        #expect(throws: BundleError(duplicate.path, .duplicateEntry("model/model.json"))) {
            try BundleReader.read(duplicate)
        }
    }

    @Test func theProvenanceIsAnSLSAv1StatementOverEveryFile() throws {
        let (bundle, _) = try write("p.tar.zst")
        let files = try entries(of: bundle)
        let data = try #require(files.first { $0.0 == "provenance.json" }?.1)
        let statement = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(statement["_type"] as? String == "https://in-toto.io/Statement/v1")
        #expect(statement["predicateType"] as? String == "https://slsa.dev/provenance/v1")
        let subjects = try #require(statement["subject"] as? [[String: Any]])
        let hex = /^[0-9a-f]{64}$/
        for subject in subjects {
            let digest = try #require(subject["digest"] as? [String: String])
            #expect(digest.keys.sorted() == ["sha256"] && digest["sha256"]!.wholeMatch(of: hex) != nil)
            let name = try #require(subject["name"] as? String)
            let content = try #require(files.first { $0.0 == name }?.1)
            #expect(digest["sha256"] == Hex.string(SHA256.hash(data: content)))
        }
        #expect(
            Set(subjects.compactMap { $0["name"] as? String }) == [
                "manifest.json", "model/model.json", "model/transform.json", "reports/gate.md",
            ])
        // SLSA v1 Build L1 fields: buildDefinition{buildType, externalParameters}, runDetails{builder{id}}.
        let predicate = try #require(statement["predicate"] as? [String: Any])
        #expect(Set(predicate.keys) == ["buildDefinition", "runDetails"])
        let build = try #require(predicate["buildDefinition"] as? [String: Any])
        #expect(
            Set(build.keys).isSubset(of: [
                "buildType", "externalParameters", "internalParameters", "resolvedDependencies",
            ]))
        #expect((build["buildType"] as? String)?.hasPrefix("https://") == true)
        #expect(build["externalParameters"] is [String: Any])
        let dependencies = try #require(build["resolvedDependencies"] as? [[String: Any]])
        let descriptorFields: Set<String> = [
            "uri", "digest", "name", "downloadLocation", "mediaType", "content", "annotations",
        ]
        for dependency in dependencies { #expect(Set(dependency.keys).isSubset(of: descriptorFields)) }
        #expect(dependencies.first?["uri"] as? String == "git+https://example.invalid/r.git@refs/heads/main")
        #expect((dependencies.first?["digest"] as? [String: String])?["gitCommit"] == String(repeating: "a", count: 40))
        #expect((dependencies.last?["digest"] as? [String: String])?["gitBlob"] == String(repeating: "b", count: 40))
        #expect((dependencies.last?["annotations"] as? [String: Any])?["span"] as? Int == 3)
        let run = try #require(predicate["runDetails"] as? [String: Any])
        let builder = try #require(run["builder"] as? [String: Any])
        #expect(builder["id"] as? String == "https://mlops.invalid/builders/local")
        // On GitHub Actions the builder is the workflow and the invocation the run.
        let github = CIBuilder(environment: [
            "GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r",
            "GITHUB_WORKFLOW_REF": "o/r/.github/workflows/ml.yml@refs/heads/main", "GITHUB_RUN_ID": "42",
        ])
        #expect(github.id == "https://github.com/o/r/.github/workflows/ml.yml@refs/heads/main")
        #expect(github.invocation == "https://github.com/o/r/actions/runs/42/attempts/1")
    }

    @Test func keysRoundTripThroughPEMAndBadKeysAreNamed() throws {
        let key = SigningKeys.generate()
        let privatePEM = SigningKeys.pem(key)
        #expect(privatePEM.hasPrefix("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI"))
        let back = try SigningKeys.privateKey(pem: privatePEM, source: "k")
        #expect(back.rawRepresentation == key.rawRepresentation)
        let publicPEM = SigningKeys.pem(key.publicKey)
        #expect(publicPEM.hasPrefix("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA"))
        #expect(
            try SigningKeys.publicKey(pem: publicPEM, source: "p").rawRepresentation == key.publicKey.rawRepresentation)
        #expect(throws: ReleaseError.badKey("p", reason: "no '-----BEGIN PRIVATE KEY-----' block")) {
            try SigningKeys.privateKey(pem: publicPEM, source: "p")
        }
        #expect(throws: ReleaseError.badKey("env:K", reason: "the environment variable K is not set")) {
            try SigningKeys.loadPrivateKey("env:K", root: directory.url, environment: [:])
        }
        let fromEnvironment = try SigningKeys.loadPrivateKey(
            "env:K", root: directory.url, environment: ["K": privatePEM])
        #expect(fromEnvironment.rawRepresentation == key.rawRepresentation)
    }
}

@Suite struct LedgerTests {
    func event(_ kind: LedgerEvent.Kind, _ version: String, channel: String? = nil, at seconds: Double) -> LedgerEvent {
        LedgerEvent(
            event: kind, time: Date(timeIntervalSince1970: seconds), actor: "ci", name: "taxi", version: version,
            identity: "sha256:\(version)", channel: channel, previous: nil, reason: nil, evidence: nil)
    }

    @Test func aLineCutShortIsReadPastAndTheNextAppendStaysWhole() throws {
        let directory = try TemporaryDirectory()
        let ledger = Ledger(url: directory.url.appendingPathComponent("ledger.jsonl"))
        try ledger.append(event(.release, "1.0.0", at: 1))
        try ledger.append(event(.release, "1.0.1", at: 2))
        // A crash mid-write: half a line, no newline.
        let handle = try FileHandle(forWritingTo: ledger.url)
        handle.seekToEndOfFile()
        handle.write(Data(#"{"event":"release","na"#.utf8))
        try handle.close()
        let (events, warnings) = try ledger.read()
        #expect(events.map(\.version) == ["1.0.0", "1.0.1"])
        #expect(warnings.count == 1 && warnings[0].contains("ledger.jsonl:3: an unreadable ledger line"))
        try ledger.append(event(.release, "1.0.2", at: 3))
        let after = try ledger.read()
        #expect(after.events.map(\.version) == ["1.0.0", "1.0.1", "1.0.2"] && after.warnings.count == 1)
    }

    @Test func channelsReplayPromotionsAndRollbacksAtAnyTime() {
        let state = RegistryState(
            name: "taxi",
            events: [
                event(.release, "1.0.0", at: 10), event(.promote, "1.0.0", channel: "production", at: 20),
                event(.release, "1.0.1", at: 30), event(.promote, "1.0.1", channel: "production", at: 40),
                event(.release, "1.0.2", at: 50), event(.promote, "1.0.2", channel: "production", at: 60),
                event(.rollback, "1.0.1", channel: "production", at: 70),
                event(.rollback, "1.0.0", channel: "production", at: 80),
            ], warnings: [])
        #expect(state.channel("production")?.version == "1.0.0")
        #expect(state.channel("production", at: Date(timeIntervalSince1970: 65))?.version == "1.0.2")
        #expect(state.channel("production", at: Date(timeIntervalSince1970: 75))?.version == "1.0.1")
        #expect(state.channel("production", at: Date(timeIntervalSince1970: 15)) == nil)
        #expect(state.versions.map(\.description) == ["1.0.0", "1.0.1", "1.0.2"])
        #expect(state.wasPromoted("1.0.2", to: "production") && !state.wasPromoted("1.0.2", to: "staging"))
        #expect(LedgerEvent.parse("2026-11-17T14:00") == LedgerEvent.parse("2026-11-17T14:00:00Z"))
        #expect(LedgerEvent.parse("2026-11-17") != nil && LedgerEvent.parse("yesterday") == nil)
    }
}
