import Benchmark
import PrintProtocols

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Page-counting throughput (issue 2): a generated 100-page PostScript, PDF, PCL
// and PCL XL document, each counted whole, and as the same-run reference a plain
// memchr scan over the same bytes (counting line feeds, like `wc -l`).
// Throughput is documents per second; MB/s = throughput × the size in the name.
// Report counting as a ratio against the scan: the machine is shared and noisy.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal],
        warmupIterations: 2,
        maxDuration: .seconds(3),
        maxIterations: 1_000
    )

    for document in GeneratedDocument.all {
        let megabytes = Double(document.bytes.count) / 1_000_000
        let label = "\(document.name) 100 pages (\(formatted(megabytes)) MB)"

        Benchmark("PageCounter \(label)") { benchmark in
            for _ in benchmark.scaledIterations {
                let count = PageCounter.count(document.bytes)
                precondition(count.pages == 100, "\(document.name) counted \(String(describing: count.pages)) pages")
                blackHole(count)
            }
        }

        Benchmark("PageCounter 64 KiB chunks \(label)") { benchmark in
            for _ in benchmark.scaledIterations {
                var counter = PageCounter()
                document.bytes.withUnsafeBytes { all in
                    var offset = 0
                    while offset < all.count {
                        let end = min(offset + 65_536, all.count)
                        counter.consume(UnsafeRawBufferPointer(rebasing: all[offset..<end]))
                        offset = end
                    }
                }
                blackHole(counter.finish())
            }
        }

        Benchmark("memchr scan \(label)") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(lineFeeds(document.bytes))
            }
        }
    }
}

/// The trivial reference: count line feeds with memchr.
func lineFeeds(_ bytes: [UInt8]) -> Int {
    bytes.withUnsafeBytes { raw in
        guard let base = raw.baseAddress else { return 0 }
        var count = 0
        var offset = 0
        while offset < raw.count, let hit = memchr(base + offset, 0x0A, raw.count - offset) {
            count += 1
            offset = UnsafeRawPointer(hit) - base + 1
        }
        return count
    }
}

func formatted(_ value: Double) -> String {
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}
