import PropertyBased
import Sim
import Testing

@Suite struct ScenarioArrivalScheduleTests {
    @Test func constantRateIsEvenlySpacedAndExact() {
        let times = Array(ArrivalSchedule(rate: .constant(Rate(perSecond: 20)), duration: .seconds(1)))
        #expect(times.count == 20)
        #expect(abs(times[0] - 0.025) < 1e-9)
        for (earlier, later) in zip(times, times.dropFirst()) {
            #expect(abs((later - earlier) - 0.05) < 1e-9)
        }
    }

    @Test func rampFollowsTheIntegral() {
        // 0 → 10/s over 10 s: 50 arrivals; half of them (the integral reaches 25) by t = √50 ≈ 7.07 s.
        let times = Array(ArrivalSchedule(rate: .ramp(from: .zero, to: Rate(perSecond: 10)), duration: .seconds(10)))
        #expect(times.count == 50)
        #expect(times.filter { $0 < 50.0.squareRoot() }.count == 25)
        // Arrivals get denser: gaps shrink.
        #expect(times[1] - times[0] > times[49] - times[48])
    }

    @Test func downRampAndZeroSegmentsAndOffsets() {
        let schedule = ArrivalSchedule(segments: [
            .init(start: .zero, duration: .seconds(10), rate: .ramp(from: Rate(perSecond: 10), to: .zero)),
            .init(start: .seconds(10), duration: .seconds(5), rate: .constant(.zero)),
            .init(start: .seconds(15), duration: .seconds(2), rate: .constant(Rate(perSecond: 4))),
        ])
        let times = Array(schedule)
        #expect(times.count == 58)
        #expect(times.filter { $0 >= 10 && $0 < 15 }.isEmpty)
        #expect(times.filter { $0 >= 15 }.count == 8)
        #expect(times.last! <= 17)
    }

    @Test func veryHighRatesAreLazy() {
        // 100 000/s for an hour: 360 million arrivals, of which we only read a few.
        var iterator = ArrivalSchedule(rate: .constant(Rate(perSecond: 100_000)), duration: .seconds(3600)).makeIterator()
        var last = -1.0
        for _ in 0..<1000 {
            let next = iterator.next()!
            #expect(next > last)
            last = next
        }
        #expect(abs(last - 0.009995) < 1e-9)
    }

    @Test func scenarioScheduleSpansPhases() throws {
        let scenario = try ScenarioLoader.parse("""
            name: two-phases
            fleet: { agents: 5 }
            phases:
              - { name: a, duration: 10s, checkins: 2/s }
              - { name: b, duration: 10s, logins: 1/s }
              - { name: c, duration: 10s, checkins: { from: 0/s, to: 4/s } }
            """).get()
        let checkins = Array(scenario.schedule(\.checkins))
        #expect(checkins.count == 40)
        #expect(checkins.filter { $0 >= 10 && $0 < 20 }.isEmpty)
        #expect(Array(scenario.schedule(\.logins)).count == 10)
    }

    @Test func countMatchesTheIntegralAndTimesAreMonotone() async {
        let rate = Gen.double(in: 0...500)
        let seconds = Gen.double(in: 0.1...30)
        await propertyCheck(count: 200, input: rate, rate, seconds, Gen.int(in: 0...3)) { from, to, length, gap in
            let duration = Duration.milliseconds(Int64(length * 1000))
            let schedule = ArrivalSchedule(segments: [
                .init(start: .seconds(gap), duration: duration, rate: .ramp(from: Rate(perSecond: from), to: Rate(perSecond: to))),
                .init(start: .seconds(gap) + duration, duration: duration, rate: .constant(Rate(perSecond: to))),
            ])
            let times = Array(schedule)
            #expect(abs(Double(times.count) - schedule.expectedCount) <= 1, "from \(from) to \(to) over \(length)s")
            #expect(zip(times, times.dropFirst()).allSatisfy { $0 <= $1 })
            let end = Double(gap) + 2 * duration.seconds
            #expect(times.allSatisfy { $0 >= Double(gap) - 1e-9 && $0 <= end + 1e-9 })
        }
    }
}
