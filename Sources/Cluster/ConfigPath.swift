import Foundation

/// Path arithmetic for the config: absolute paths without `.` and `..`, resolved against a base directory.
enum ConfigPath {
    /// `path` made absolute against the working directory, then normalized.
    static func absolute(_ path: String) -> String {
        Self.resolve(path, against: FileManager.default.currentDirectoryPath)
    }

    /// `path` as is when absolute, else joined to `base`; then `.`, `..` and repeated slashes are removed.
    static func resolve(_ path: String, against base: String) -> String {
        let joined = path.hasPrefix("/") ? path : base + "/" + path
        var components: [Substring] = []
        for component in joined.split(separator: "/") {
            switch component {
            case ".": continue
            case "..": _ = components.popLast()
            default: components.append(component)
            }
        }
        return "/" + components.joined(separator: "/")
    }

    /// The directory part of an absolute path.
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    /// A short reason for a failed read: the POSIX message when there is one.
    static func describe(readError error: any Error, path: String) -> String {
        if let posix = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain
        {
            return String(cString: strerror(Int32(posix.code)))
        }
        if !FileManager.default.fileExists(atPath: path) {
            return "no such file"
        }
        return (error as NSError).localizedDescription
    }
}
