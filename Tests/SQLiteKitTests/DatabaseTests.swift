import Foundation
import GRDB
import MLOpsCore
import MLOpsTestSupport
import SQLiteKit
import Testing

@Suite struct DatabaseTests {
    @Test func opensInWALAndCommitsTransactions() throws {
        let dir = try TemporaryDirectory()
        let db = try SQLiteDatabase(path: dir.appending("store.sqlite").path)
        #expect(try db.journalMode() == "wal")
        try db.write { db in
            try db.execute(sql: "CREATE TABLE artifact (id INTEGER PRIMARY KEY, uri TEXT NOT NULL)")
            for i in 0..<100 { try db.execute(sql: "INSERT INTO artifact (uri) VALUES (?)", arguments: ["a\(i)"]) }
        }
        #expect(try db.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM artifact") } == 100)
        #expect(SQLiteDatabase.libraryVersion.hasPrefix("3."))
        try db.close()
        try db.close()  // idempotent
    }

    @Test func aThrowingTransactionRollsBack() throws {
        let dir = try TemporaryDirectory()
        let db = try SQLiteDatabase(path: dir.appending("store.sqlite").path)
        try db.write { try $0.execute(sql: "CREATE TABLE t (x INTEGER)") }
        struct Abort: Error {}
        #expect(throws: Abort.self) {
            try db.write { db in
                try db.execute(sql: "INSERT INTO t VALUES (1)")
                throw Abort()
            }
        }
        #expect(try db.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM t") } == 0)
    }

    @Test func sqlErrorsNameTheFileTheSQLAndTheCode() throws {
        let dir = try TemporaryDirectory()
        let path = dir.appending("store.sqlite").path
        let db = try SQLiteDatabase(path: path)
        do {
            try db.write { try $0.execute(sql: "INSERT INTO nope VALUES (1)") }
            Issue.record("must fail")
        } catch let error as StoreError {
            #expect(error.path == path)
            #expect(error.sql == "INSERT INTO nope VALUES (1)")
            #expect(error.detail.contains("no such table: nope"))
            #expect(error.primaryCode == 1)
            #expect(error.exitStatus == .internalError)
        }
    }

    @Test func aFileThatIsNotADatabaseIsRefusedAndLeftUntouched() throws {
        let dir = try TemporaryDirectory()
        let junk = String(repeating: "this is not sqlite\n", count: 300)
        let url = try dir.write("store.sqlite", junk)
        do {
            _ = try SQLiteDatabase(path: url.path)
            Issue.record("must fail")
        } catch let error as StoreError {
            #expect(error.isCorrupt)
            #expect(error.exitStatus == .ioError)
            #expect(error.hint?.contains("move it aside") == true)
        }
        #expect(try String(contentsOf: url, encoding: .utf8) == junk)
    }

    @Test func aLockHeldLongerThanTheTimeoutIsRetryable() throws {
        let dir = try TemporaryDirectory()
        let path = dir.appending("store.sqlite").path
        let holder = try SQLiteDatabase(path: path)
        try holder.write { try $0.execute(sql: "CREATE TABLE t (x INTEGER)") }
        let waiter = try SQLiteDatabase(path: path, busyTimeout: 0.2)
        let locked = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        // Another "process" holds the write lock in a long transaction.
        Thread.detachNewThread {
            try? holder.write { db in
                try db.execute(sql: "INSERT INTO t VALUES (1)")
                locked.signal()
                release.wait()
            }
            finished.signal()
        }
        #expect(locked.wait(timeout: .now() + 30) == .success, "the holder never took the lock")
        do {
            try waiter.write { try $0.execute(sql: "INSERT INTO t VALUES (2)") }
            Issue.record("the second writer must time out")
        } catch let error as StoreError {
            #expect(error.isBusy)
            #expect(error.exitStatus == .temporaryFailure)
            #expect(error.hint?.contains("retry") == true)
        }
        release.signal()
        #expect(finished.wait(timeout: .now() + 30) == .success)
        try waiter.write { try $0.execute(sql: "INSERT INTO t VALUES (2)") }
        #expect(try waiter.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM t") } == 2)
    }

    @Test func useAfterCloseIsAnError() throws {
        let dir = try TemporaryDirectory()
        let db = try SQLiteDatabase(path: dir.appending("s.sqlite").path)
        try db.close()
        #expect(throws: StoreError.self) { _ = try db.read { try Int.fetchOne($0, sql: "SELECT 1") } }
    }
}
