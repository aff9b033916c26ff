/// The version both binaries report (`--version`), changed by a release.
public enum TandemVersion {
    public static let current = "0.15.0"
}
