import Foundation
import MLOpsCore
import Tabular

extension FittedTransform {
    // MARK: - Fitting

    /// Fits `config` on the train split: derived columns are evaluated, then each feature's
    /// analyzers run on the values its earlier steps give. Every raw and derived column is a
    /// feature except the label, training-only columns and dropped ones; a text feature with
    /// no vocabulary step gets one (all values, one OOV bucket), since the model takes numbers.
    public static func fit(
        _ config: TransformSection, label: String?, on train: DataTable
    ) throws(TransformError) -> FittedTransform {
        var types: [String: FeatureType] = [:]
        for column in train.columns { types[column.name] = column.type }
        for name in config.trainingOnly where types[name] == nil {
            throw TransformError(.unknownColumn(name, in: "transform.training_only", available: Array(types.keys)))
        }
        var derived: [Derived] = []
        var extended = train
        var derivedTypes: [String: Expression.ValueType] = [:]
        for pair in config.derive {
            let expression: Expression
            let type: Expression.ValueType
            do {
                expression = try Expression.parse(pair.value)
                type = try expression.type(columns: types)
            } catch {
                throw TransformError(.badExpression(pair.name, error))
            }
            let values = expression.evaluate(on: extended)
            extended = extended.adding(values.column(named: pair.name))
            types[pair.name] = type == .text ? .bytes : .float
            derivedTypes[pair.name] = type
            derived.append(Derived(name: pair.name, expression: pair.value, type: type.rawValue))
        }
        if let label, types[label] == nil {
            throw TransformError(.unknownColumn(label, in: "trainer.label", available: Array(types.keys)))
        }
        for name in config.features.names where types[name] == nil {
            throw TransformError(.unknownColumn(name, in: "transform.features", available: Array(types.keys)))
        }
        // Training-only: declared columns and whatever is derived from them (the label).
        var trainingOnly = Set(config.trainingOnly)
        for pair in config.derive {
            if let expression = try? Expression.parse(pair.value), !expression.columns.isDisjoint(with: trainingOnly) {
                trainingOnly.insert(pair.name)
            }
        }
        if let label { trainingOnly.insert(label) }
        let order = train.columns.map(\.name) + derived.map(\.name)
        var jobs: [(name: String, steps: [TransformStep], source: Column, isText: Bool)] = []
        for name in order where !trainingOnly.contains(name) {
            var steps = config.features[name] ?? []
            if steps.contains(.drop) { continue }
            let isText = types[name] == .bytes
            if isText, !steps.contains(where: { if case .vocabulary = $0 { true } else { false } }) {
                steps.append(.vocabulary(topK: nil, oovBuckets: 1, minFrequency: 1, allowNumbers: false))
            }
            guard let source = extended.column(name) else { continue }
            jobs.append((name, steps, source, isText))
        }
        // Each feature's analyzers are independent: fitted on all cores, reported in order.
        let fitted = concurrentMap(jobs.count) { index in
            let job = jobs[index]
            return Result { () throws(TransformError) in
                try fitFeature(
                    job.name, steps: job.steps, column: Expression.Values(job.source), rows: train.rowCount,
                    isText: job.isText)
            }
        }
        var features: [Feature] = []
        for result in fitted { features.append(try result.get()) }
        let inputs = train.columns.map { column in
            Input(name: column.name, type: column.type, trainingOnly: config.trainingOnly.contains(column.name))
        }
        var labelValues: [String]?
        if let label, types[label] == .bytes,
            case .texts(let texts)? = extended.column(label).map(Expression.Values.init)
        {
            labelValues = Set(texts.compactMap { $0 }).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        }
        return FittedTransform(
            format: format, inputs: inputs, derived: derived, features: features, label: label,
            labelValues: labelValues)
    }

    static func fitFeature(
        _ name: String, steps: [TransformStep], column: Expression.Values, rows: Int, isText: Bool
    ) throws(TransformError) -> Feature {
        var fitted: [Step] = []
        var current = column
        var vocabularySize: Int?
        for step in steps {
            let fittedStep: Step
            let numbers = current.numbersIfNumeric
            func numeric(_ what: String) throws(TransformError) -> [Double] {
                guard let numbers else { throw TransformError(.textStep(feature: name, step: what)) }
                return numbers
            }
            switch step {
            case .fillMissing(let fill):
                switch (fill, current) {
                case (.constant(let value), .texts):
                    fittedStep = .fillText(value)
                case (.constant(let value), .numbers):
                    guard let number = Double(value) else {
                        throw TransformError(.badConstant(feature: name, value: value))
                    }
                    fittedStep = .fillNumber(number)
                case (.mostFrequent, .texts(let texts)):
                    var counts: [String: Int] = [:]
                    for text in texts { if let text { counts[text, default: 0] += 1 } }
                    let best = counts.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key
                    fittedStep = .fillText(best ?? "")
                case (.mostFrequent, .numbers(let values)):
                    var counts: [Double: Int] = [:]
                    for value in values where !value.isNaN { counts[value, default: 0] += 1 }
                    let best = counts.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key
                    fittedStep = .fillNumber(best ?? 0)
                case (.mean, _):
                    let present = try numeric("fill_missing: mean").filter { !$0.isNaN }
                    fittedStep = .fillNumber(present.isEmpty ? 0 : present.reduce(0, +) / Double(present.count))
                case (.median, _):
                    let present = try numeric("fill_missing: median").filter { !$0.isNaN }.sorted()
                    fittedStep = .fillNumber(present.isEmpty ? 0 : present[(present.count - 1) / 2])
                }
            case .zscore:
                let present = try numeric("zscore").filter { !$0.isNaN }
                let mean = present.isEmpty ? 0 : present.reduce(0, +) / Double(present.count)
                let variance =
                    present.isEmpty ? 0 : present.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(present.count)
                fittedStep = .zscore(mean: mean, std: variance.squareRoot())
            case .scaleToUnit:
                let present = try numeric("scale_to_0_1").filter { !$0.isNaN }
                fittedStep = .scale(min: present.min() ?? 0, max: present.max() ?? 0)
            case .log1p:
                _ = try numeric("log1p")
                fittedStep = .log1p
            case .clip(let low, let high):
                _ = try numeric("clip")
                fittedStep = .clip(min: low, max: high)
            case .bucketize(let buckets):
                let present = try numeric("bucketize").filter { !$0.isNaN }.sorted()
                var boundaries: [Double] = []
                if !present.isEmpty {
                    for index in 1..<buckets {
                        let value = present[index * (present.count - 1) / buckets]
                        if boundaries.last != value { boundaries.append(value) }
                    }
                }
                fittedStep = .bucketize(boundaries: boundaries)
            case .vocabulary(let topK, let oovBuckets, let minFrequency, let allowNumbers):
                if !isText, numbers != nil, !allowNumbers {
                    throw TransformError(.vocabularyOnNumbers(feature: name))
                }
                var counts: [String: Int] = [:]
                for text in current.texts { if let text { counts[text, default: 0] += 1 } }
                let ordered = counts.filter { $0.value >= minFrequency }
                    .sorted {
                        $0.value != $1.value ? $0.value > $1.value : $0.key.utf8.lexicographicallyPrecedes($1.key.utf8)
                    }
                    .map(\.key)
                let values = topK.map { Array(ordered.prefix($0)) } ?? ordered
                vocabularySize = values.count + oovBuckets
                fittedStep = .vocabulary(values: values, oovBuckets: oovBuckets)
            case .oneHot:
                guard let size = vocabularySize else { throw TransformError(.oneHotWithoutVocabulary(feature: name)) }
                fittedStep = .oneHot(size: size)
            case .drop:
                continue
            }
            fitted.append(fittedStep)
            // The next analyzer sees what this step gives: text stays text until a vocabulary.
            if case .fillText(let value) = fittedStep, case .texts(let texts) = current {
                current = .texts(texts.map { $0 ?? value })
            } else {
                let next = run([fittedStep], on: current, rows: rows)
                if next.count == 1 { current = .numbers(next[0]) }
            }
        }
        let outputs: [String]
        if case .oneHot(let size)? = fitted.last, case .vocabulary(let values, _)? = fitted.dropLast().last {
            outputs = (0..<size).map { $0 < values.count ? "\(name)=\(values[$0])" : "\(name)=oov\($0 - values.count)" }
        } else {
            outputs = [name]
        }
        return Feature(source: name, steps: fitted, outputs: outputs)
    }
}
