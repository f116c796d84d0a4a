import Foundation
import PropertyBased
import Testing

@testable import PrintplaneCore

private let rangePool = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "192.168.0.0/16", "2001:db8::/32"]
private let addressPool = ["10.1.2.3", "10.9.9.9", "192.168.4.4", "172.16.0.1", "2001:db8::5"]
private let sitePool = ["HQ", "hq", "Annex", "Lab"]
private let sha = String(repeating: "ab", count: 32)

private let cacheGen = zip(Gen.int(in: 0...99), Gen.int(in: 0...4).array(of: 0...2), Gen.int(in: 0...3).array(of: 0...2)).map { values -> DriverCacheRoute in
    let (id, ranges, sites) = values
    return DriverCacheRoute(
        id: DriverCacheID("c\(id)"), name: "cache-\(id % 7)", url: "https://cache-\(id).example.com:8444",
        ranges: ranges.map { IPRange(rangePool[$0])! }, sites: sites.map { sitePool[$0] })
}

private let addressesGen = Gen.int(in: 0...4).array(of: 0...3).map { $0.map { IPAddress(addressPool[$0])! } }
private let siteGen = Gen.int(in: 0...4).map { $0 == 4 ? nil : sitePool[$0] }

@Suite("LAN driver cache routing and URLs")
struct DriverCacheRoutingTests {
    @Test("sources: only matching caches, range matches by longest prefix before site matches, at most three, the cloud always last")
    func sourcesProperty() async {
        await propertyCheck(count: 300, input: cacheGen.array(of: 0...8), addressesGen, siteGen) { caches, addresses, site in
            let chosen = DriverCacheRouting.caches(caches, addresses: addresses, printerSite: site)
            let sources = DriverCacheRouting.sources(sha256: sha, caches: caches, addresses: addresses, printerSite: site)
            #expect(sources.last == "/api/v1/drivers/\(sha)")
            #expect(sources.dropLast() == chosen.map { $0.source(sha256: sha) }[...])
            #expect(chosen.count <= DriverCacheRouting.maximumCachesPerDriver)
            func byRange(_ cache: DriverCacheRoute) -> Int? {
                cache.ranges.filter { range in addresses.contains { range.contains($0) } }.map(\.prefixLength).max()
            }
            func bySite(_ cache: DriverCacheRoute) -> Bool {
                site.map { site in cache.sites.contains { $0.caseInsensitiveCompare(site) == .orderedSame } } ?? false
            }
            for cache in chosen { #expect(byRange(cache) != nil || bySite(cache)) }
            let matching = caches.filter { byRange($0) != nil || bySite($0) }
            #expect(chosen.count == min(matching.count, DriverCacheRouting.maximumCachesPerDriver))
            // Range matches come first, longest prefix first.
            let ranks = chosen.map { byRange($0).map { 1000 + $0 } ?? 0 }
            #expect(ranks == ranks.sorted(by: >))
            #expect(DriverCacheRouting.caches(caches.shuffled(), addresses: addresses, printerSite: site).map(\.id) == chosen.map(\.id))
        }
    }

    @Test("an agent outside every range, at a printer of no cache's site, gets the cloud only")
    func outsideGetsCloudOnly() {
        let hq = DriverCacheRoute(id: "c1", name: "hq", url: "https://10.1.0.5:8444", ranges: [IPRange("10.1.0.0/16")!], sites: ["HQ"])
        #expect(DriverCacheRouting.sources(sha256: sha, caches: [hq], addresses: [IPAddress("10.2.0.7")!], printerSite: "Annex") == ["/api/v1/drivers/\(sha)"])
        #expect(DriverCacheRouting.sources(sha256: sha, caches: [hq], addresses: [IPAddress("10.1.3.7")!], printerSite: nil) == ["https://10.1.0.5:8444/drivers/\(sha)", "/api/v1/drivers/\(sha)"])
        #expect(DriverCacheRouting.sources(sha256: sha, caches: [hq], addresses: [], printerSite: "hq") == ["https://10.1.0.5:8444/drivers/\(sha)", "/api/v1/drivers/\(sha)"])
    }

    @Test("cache URLs: https, a DNS name, IPv4 or bracketed IPv6, an optional port, nothing else", arguments: [
        ("https://cache.example.com", "https://cache.example.com:443"),
        ("https://Cache-HQ.Example.com:8444/", "https://cache-hq.example.com:8444"),
        ("HTTPS://10.1.0.5:8444", "https://10.1.0.5:8444"),
        ("https://[2001:DB8::1]:8444", "https://[2001:db8::1]:8444"),
        ("https://localhost:1", "https://localhost:1"),
    ])
    func validURLs(_ text: String, _ canonical: String) {
        #expect(DriverCacheURL.parse(text)?.description == canonical)
    }

    @Test("refused cache URLs", arguments: [
        "http://cache.example.com", "https://cache.example.com/drivers", "https://user@cache.example.com", "https://cache.example.com:0",
        "https://cache.example.com:65536", "https://cache.example.com:", "https://[10.0.0.1]:8444", "https://2001:db8::1", "https://-bad.example.com",
        "https://1.2.3", "https://", "https://cache.example.com?x=1", "https://cache.example.com#x", "https://cache example.com", "https://a..b",
        "https://[2001:db8::1", "ftp://x", "",
    ])
    func invalidURLs(_ text: String) {
        #expect(DriverCacheURL.parse(text) == nil)
    }
}
