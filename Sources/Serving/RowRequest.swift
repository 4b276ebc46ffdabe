import Foundation
import MLOpsCore
import Pipeline
import Tabular

/// Rows sent as JSON objects or columns, the shapes TF Serving's REST predict and MLflow's
/// scoring server take, turned into raw rows for the model:
/// - rows: `[{"fare": 12.5, "payment_type": "Cash"}, …]` (TF Serving `instances`, MLflow
///   `dataframe_records` and `instances`);
/// - columns: `{"fare": [12.5, 3.0], "payment_type": ["Cash", null]}` (TF Serving `inputs`,
///   MLflow `inputs`);
/// - a split frame: `{"columns": ["fare", …], "data": [[12.5, …], …]}` (MLflow `dataframe_split`).
/// A value may be wrapped in a one-element list (`"fare": [12.5]`, as TF Serving examples write
/// it); `null` or an absent key is a missing value in a row object.
enum RowRequest {
    static func rows(_ objects: [JSONValue], model: ServableModel, maxRows: Int) throws(RequestError) -> DataTable {
        var records: [JSONObject] = []
        for (index, object) in objects.enumerated() {
            guard let record = object.object else {
                throw RequestError(400, "row \(index) must be an object of feature values")
            }
            records.append(record)
        }
        let names = Set(records.flatMap(\.keys))
        var columns: [String: [JSONValue]] = [:]
        for name in names { columns[name] = records.map { $0[name].map(unwrap) ?? .null } }
        return try table(columns, rows: records.count, model: model, maxRows: maxRows)
    }

    static func columns(_ object: JSONObject, model: ServableModel, maxRows: Int) throws(RequestError)
        -> DataTable
    {
        var columns: [String: [JSONValue]] = [:]
        var rows: Int?
        for (name, value) in object.entries.sorted(by: { $0.key < $1.key }) {
            guard let list = value.array else {
                throw RequestError(400, "input '\(name)' must be a list of values, one per row")
            }
            if let rows, rows != list.count {
                throw RequestError(400, "input '\(name)' has \(list.count) values; the inputs before it have \(rows)")
            }
            rows = list.count
            columns[name] = list.map(unwrap)
        }
        return try table(columns, rows: rows ?? 0, model: model, maxRows: maxRows)
    }

    static func split(_ object: JSONObject, model: ServableModel, maxRows: Int) throws(RequestError)
        -> DataTable
    {
        let names = object["columns"]?.array?.compactMap(\.string) ?? []
        guard let data = object["data"]?.array, !names.isEmpty, names.count == object["columns"]?.array?.count else {
            throw RequestError(400, "dataframe_split needs 'columns' (names) and 'data' (rows of values)")
        }
        var columns: [String: [JSONValue]] = [:]
        for name in names { columns[name] = [] }
        for (index, item) in data.enumerated() {
            guard let row = item.array, row.count == names.count else {
                throw RequestError(400, "dataframe_split row \(index) must have \(names.count) values, one per column")
            }
            for (name, value) in zip(names, row) { columns[name, default: []].append(unwrap(value)) }
        }
        return try table(columns, rows: data.count, model: model, maxRows: maxRows)
    }

    static func unwrap(_ value: JSONValue) -> JSONValue {
        if case .array(let list) = value, list.count == 1 { return list[0] }
        return value
    }

    static func table(_ columns: [String: [JSONValue]], rows: Int, model: ServableModel, maxRows: Int)
        throws(RequestError)
        -> DataTable
    {
        guard rows > 0 else { throw RequestError(400, "the request has no rows") }
        guard rows <= maxRows else {
            throw RequestError(400, "\(rows) rows is more than this server takes in one request (\(maxRows))")
        }
        let types = model.inputTypes
        for name in columns.keys.sorted() where types[name] == nil {
            let hint = Suggestions.nearest(to: name, in: Array(types.keys)).map { " (did you mean '\($0)'?)" } ?? ""
            throw RequestError(400, "unknown input '\(name)'\(hint)")
        }
        var built: [Column] = []
        for input in model.requiredInputs {
            guard let values = columns[input.name] else {
                throw RequestError(400, "input '\(input.name)' is missing: the model needs it (send null for missing)")
            }
            built.append(try InferenceRequest.column(input.name, nil, values, type: input.type))
        }
        return DataTable(file: "request", columns: built, rowCount: rows)
    }

    /// Predictions as one JSON object per row: `{"probability": 0.41, "predicted_class": 0}`
    /// (the columns `mlops infer` appends).
    static func perRow(_ predictions: Predictions) -> String {
        var rows: [String] = []
        rows.reserveCapacity(predictions.rows)
        for row in 0..<predictions.rows {
            let fields = predictions.columns.map { StringLiteral.json($0.name) + ":" + $0.json(row) }
            rows.append("{" + fields.joined(separator: ",") + "}")
        }
        return "[" + rows.joined(separator: ",") + "]"
    }

    /// Predictions as columns: `{"probability": [...], "predicted_class": [...]}`.
    static func perColumn(_ predictions: Predictions) -> String {
        let fields = predictions.columns.map { column in
            StringLiteral.json(column.name) + ":["
                + (0..<predictions.rows).map(column.json).joined(separator: ",") + "]"
        }
        return "{" + fields.joined(separator: ",") + "}"
    }
}
