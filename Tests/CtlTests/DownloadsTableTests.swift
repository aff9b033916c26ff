import PeerControl
import Testing

@testable import Ctl

@Suite struct DownloadsTableTests {
    static func status(_ name: String, message: String?) -> DownloadStatus {
        DownloadStatus(
            group: "team", name: name, fileID: "aa", target: "/srv/" + name, state: .waiting, size: 1 << 30,
            bytesDone: 1 << 29, piecesDone: 1024, pieces: 2048, rate: 0, peers: 0, eta: nil, message: message)
    }

    @Test func aLongMessageGoesOnItsOwnLineAndRowsFitEightyColumns() {
        let message =
            "waiting for seeders: the tracker lists none that answer; it asks again every 2 s (last: "
            + "refused: cannot serve film.mkv: no such file)"
        let table = DownloadsTable.render(
            [Self.status("film.mkv", message: message), Self.status("a.iso", message: nil)], bars: false)
        let lines = table.split(separator: "\n").map(String.init)
        #expect(lines.count == 4, "\(table)")
        #expect(lines[1].hasPrefix("film.mkv") && lines[1].count <= 80, "\(table)")
        #expect(lines[2] == "  " + message)
        #expect(lines[3].hasPrefix("a.iso") && lines[3].count <= 80)
        let withBars = DownloadsTable.render([Self.status("film.mkv", message: message)], bars: true)
        #expect(withBars.split(separator: "\n").map(String.init)[2].hasPrefix("  ["), "\(withBars)")
    }
}
