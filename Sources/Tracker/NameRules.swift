/// What user names, group names, file names and passwords may be. Byte-level checks, so that both trackers (and
/// every platform) agree on them.
enum NameRules {
    /// The rule for user and group names, as error messages state it.
    static let accountNameRule = "1 to 64 characters of A-Z a-z 0-9 _ . - and do not start with . or -"
    /// The rule for file names, as error messages state it.
    static let fileNameRule =
        "file names are names, not paths: 1 to 255 UTF-8 bytes, not . or .., "
        + "without / \\ | : , or control characters"
    /// The rule for what a new file name may not show, as error messages state it.
    static let fileNameDisplayRule =
        "file names may not hold C1 control characters (U+0080 to U+009F), line or paragraph separators "
        + "(U+2028, U+2029) or bidirectional controls (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069), "
        + "which would make a listing show another name than the file's"
    /// The rule for passwords, as error messages state it.
    static let passwordRule = "passwords are 1 to 1024 bytes"

    /// Whether `name` is a valid user or group name.
    static func isValidAccountName(_ name: String) -> Bool {
        let bytes = name.utf8
        guard (1...64).contains(bytes.count), let first = bytes.first else { return false }
        guard first != UInt8(ascii: "."), first != UInt8(ascii: "-") else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
                true
            default:
                false
            }
        }
    }

    /// Whether `name` is a valid file name: a name a peer can create inside its share directory and nothing else.
    static func isValidFileName(_ name: String) -> Bool {
        let bytes = name.utf8
        guard (1...255).contains(bytes.count), name != ".", name != ".." else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case 0..<0x20, 0x7F, UInt8(ascii: "/"), UInt8(ascii: "\\"), UInt8(ascii: "|"), UInt8(ascii: ":"),
                UInt8(ascii: ","):
                false
            default:
                true
            }
        }
    }

    /// Whether `name` shows as what it is: no C1 control, line or paragraph separator, or bidirectional control,
    /// which would break a listing's lines or make it read as another name (`report\u{202E}fdp.exe`).
    ///
    /// Checked when a file is first shared (``TrackerState/prepare(_:context:)``), not when ops are applied: a log
    /// written before the rule may hold such names, and replaying it must give the same state on both trackers.
    static func isDisplaySafe(_ name: String) -> Bool {
        name.unicodeScalars.allSatisfy { scalar in
            switch scalar.value {
            case 0x80...0x9F, 0x2028, 0x2029, 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: false
            default: true
            }
        }
    }

    /// Whether `password` has an acceptable length. The text protocol cannot carry `|` or newlines in it anyway.
    static func isValidPassword(_ password: String) -> Bool {
        (1...1024).contains(password.utf8.count)
    }
}
