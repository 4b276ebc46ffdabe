import Crypto
import Foundation
import MLOpsCore

/// A large object sent in parts (CreateMultipartUpload, UploadPart, CompleteMultipartUpload):
/// each part with its SHA-256 for the server to check, a few parts in flight at once, and
/// the whole upload aborted when anything fails, so no object and no stray parts are left.
/// The object appears only when the upload completes; with `ifAbsent` the completion is
/// conditional (`If-None-Match: *`), so a version's claim is made by the complete bundle.
struct MultipartUpload {
    let client: S3Client
    let bucket: String
    let key: String
    /// Parts sent at once.
    var concurrency = 4

    var object: String { "s3://\(bucket)/\(key)" }

    func run(_ data: Data, ifAbsent: Bool) throws(S3Error) -> S3Client.PutOutcome {
        let whole = Hex.string(SHA256.hash(data: data))
        let created = try client.send(
            "POST", bucket: bucket, key: key, query: [("uploads", "")], payload: Data(),
            headers: ["x-amz-checksum-algorithm: SHA256", "x-amz-meta-sha256: \(whole)"])
        guard created.status == 200,
            let id = ListingPage.elements("UploadId", in: String(decoding: created.body, as: UTF8.self)).first
        else { throw client.failure(created, bucket: bucket, key: key) }
        do {
            let parts = try send(data, uploadID: id)
            let outcome = try complete(parts, uploadID: id, ifAbsent: ifAbsent, whole: whole)
            if outcome == .alreadyExists { abort(id) }
            return outcome
        } catch {
            abort(id)
            throw error
        }
    }

    /// A sent part: its number, the ETag the server gave it and its checksum.
    struct Part {
        let number: Int
        let etag: String
        let checksum: String
    }

    /// Sends every part, `concurrency` at a time; the first failure stops the rest.
    func send(_ data: Data, uploadID: String) throws(S3Error) -> [Part] {
        let size = client.partSize
        let count = (data.count + size - 1) / size
        final class Shared: @unchecked Sendable {
            let lock = NSLock()
            var next = 0
            var parts: [Part?]
            var failure: S3Error?
            init(count: Int) { parts = Array(repeating: nil, count: count) }
            func take() -> Int? {
                lock.withLock {
                    guard failure == nil, next < parts.count else { return nil }
                    defer { next += 1 }
                    return next
                }
            }
        }
        let shared = Shared(count: count)
        let group = DispatchGroup()
        for _ in 0..<min(concurrency, count) {
            group.enter()
            let worker = Thread {
                defer { group.leave() }
                while let index = shared.take() {
                    let range = (index * size)..<min(data.count, (index + 1) * size)
                    let result = Result { () throws(S3Error) in
                        try sendPart(data[range], number: index + 1, uploadID: uploadID)
                    }
                    shared.lock.withLock {
                        switch result {
                        case .success(let part): shared.parts[index] = part
                        case .failure(let error): shared.failure = shared.failure ?? error
                        }
                    }
                }
            }
            worker.start()
        }
        group.wait()
        if let failure = shared.failure { throw failure }
        return shared.parts.compactMap { $0 }
    }

    func sendPart(_ slice: Data, number: Int, uploadID: String) throws(S3Error) -> Part {
        let body = Data(slice)
        let digest = Array(SHA256.hash(data: body))
        let checksum = Data(digest).base64EncodedString()
        let answer = try client.send(
            "PUT", bucket: bucket, key: key, query: [("partNumber", "\(number)"), ("uploadId", uploadID)],
            payload: body, payloadDigest: digest, headers: ["x-amz-checksum-sha256: \(checksum)"])
        guard answer.status == 200, let etag = answer.headers["etag"] else {
            throw client.failure(answer, bucket: bucket, key: key)
        }
        return Part(number: number, etag: etag, checksum: checksum)
    }

    func complete(_ parts: [Part], uploadID: String, ifAbsent: Bool, whole: String) throws(S3Error)
        -> S3Client.PutOutcome
    {
        var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for part in parts {
            xml +=
                "<Part><PartNumber>\(part.number)</PartNumber><ETag>\(Self.escape(part.etag))</ETag>"
                + "<ChecksumSHA256>\(part.checksum)</ChecksumSHA256></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        let answer = try client.send(
            "POST", bucket: bucket, key: key, query: [("uploadId", uploadID)], payload: Data(xml.utf8),
            headers: ifAbsent ? ["If-None-Match: *"] : [], contentType: "application/xml")
        if let outcome = try client.conditionalOutcome(answer, bucket: bucket, key: key, sha256: whole) {
            return outcome
        }
        // S3 may answer 200 and put the error in the body.
        guard answer.status == 200, !String(decoding: answer.body, as: UTF8.self).contains("<Error>") else {
            throw client.failure(answer, bucket: bucket, key: key)
        }
        return .created
    }

    /// Best effort: a failed abort leaves parts S3's lifecycle rules clean up, never an object.
    func abort(_ uploadID: String) {
        _ = try? client.send("DELETE", bucket: bucket, key: key, query: [("uploadId", uploadID)], payload: nil)
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
