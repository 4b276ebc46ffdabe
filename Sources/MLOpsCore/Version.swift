/// The version of mlops itself, recorded in every artifact, manifest and `--json` document.
public enum MLOpsVersion {
    public static let current = "0.1.0"
}
