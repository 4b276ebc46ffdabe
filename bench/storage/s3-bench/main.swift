// The S3 client alone, for bench/storage (not shipped): what `mlops release` and the remote
// cache do with a bundle, as a command to time against `aws s3 cp`.
//
//   mlops-s3-bench upload FILE s3://BUCKET/KEY
//   mlops-s3-bench download s3://BUCKET/KEY FILE
//
// Settings come from the AWS variables, as in mlops.
import Foundation
import S3Kit

let arguments = CommandLine.arguments
guard arguments.count == 4, ["upload", "download"].contains(arguments[1]) else {
    FileHandle.standardError.write(Data("usage: mlops-s3-bench upload FILE s3://B/K | download s3://B/K FILE\n".utf8))
    exit(64)
}
do {
    let client = try S3Settings.client(environment: ProcessInfo.processInfo.environment)
    if arguments[1] == "upload" {
        let location = try S3Location(parsing: arguments[3])
        _ = try client.upload(
            file: URL(fileURLWithPath: arguments[2]), bucket: location.bucket, key: location.prefix)
    } else {
        let location = try S3Location(parsing: arguments[2])
        guard
            try client.download(bucket: location.bucket, key: location.prefix, to: URL(fileURLWithPath: arguments[3]))
                != nil
        else {
            FileHandle.standardError.write(Data("no such object\n".utf8))
            exit(66)
        }
    }
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(74)
}
