import Foundation
import MLOpsCore
import Tabular

extension MLOpsConfig {
    /// The components this configuration runs, ready for the runner. `mergeBase` finds the
    /// merge-base's versions of the source files (drift is measured against them when the
    /// sources have no `{SPAN}`); nil leaves drift to spans.
    public func dataComponents(
        root: URL, strict: Bool = false,
        mergeBase: ((_ patterns: [String], _ current: [String]) throws -> MergeBaseData?)? = nil
    ) throws -> [any PipelineComponent] {
        var components: [any PipelineComponent] = []
        var textColumns: [String] = []
        let schemaProducer: Component
        if case .file(let path) = schema {
            let curated = try Schema.load(path: root.appendingPathComponent(path).path)
            textColumns = curated.features.filter { $0.type == .bytes }.map(\.name)
            components.append(ImportSchemaGenComponent(path: path))
            schemaProducer = .importSchemaGen
        } else {
            components.append(SchemaGenComponent(label: trainer?.label))
            schemaProducer = .schemaGen
        }
        let exampleGen = try ExampleGenComponent(data: data, root: root, textColumns: textColumns)
        components.append(exampleGen)
        components.append(StatisticsGenComponent())
        components.append(
            ExampleValidatorComponent(
                gates: gates, schemaFrom: schemaProducer, strict: strict,
                comparisons: try comparisons(current: exampleGen.spans, root: root, mergeBase: mergeBase)))
        if self.components.contains(Component.transform.rawValue) {
            components.append(try TransformComponent(section: transform, label: trainer?.label))
        }
        if let trainer {
            if let tuner { components.append(try TunerComponent(tuner: tuner, trainer: trainer)) }
            var schemaPath: String?
            if case .file(let path) = schema { schemaPath = path }
            components.append(
                try TrainerComponent(
                    trainer: trainer, code: paths.code, schemaPath: schemaPath, root: root, schemaFrom: schemaProducer,
                    decisionThreshold: evaluation?.decisionThreshold ?? 0.5))
        }
        return components
    }
}

extension MLOpsConfig {
    /// What ExampleValidator compares the data with: the latest span before the earliest one
    /// read (when the sources have `{SPAN}`), and the files of `data.serving`.
    func comparisons(
        current: [SpanFiles], root: URL, mergeBase: (([String], [String]) throws -> MergeBaseData?)?
    ) throws -> ExampleValidatorComponent.Comparisons {
        var comparisons = ExampleValidatorComponent.Comparisons()
        comparisons.spans = current.map(\.span)
        comparisons.csv.delimiter = data.delimiter.utf8.first ?? UInt8(ascii: ",")
        comparisons.csv.onBadRows = data.onBadRows
        if data.sources.contains(where: { SpanPattern($0).hasSpan }), let first = current.map(\.span).min() {
            let all = try SpanResolver.resolve(patterns: data.sources, selection: .all, root: root)
            comparisons.previous = all.last { $0.span < first }
        } else if let mergeBase {
            comparisons.base = try mergeBase(data.sources, current.flatMap(\.files))
        }
        if let serving = data.serving {
            comparisons.servingPattern = serving
            comparisons.serving = try SpanResolver.resolve(patterns: [serving], selection: .latest, root: root).last
        }
        return comparisons
    }
}
