import Testing

@testable import PrintplaneAgent

@Suite struct CheckInStateMachineTests {
    @Test func followsTheServersIntervalAndResetsFailures() {
        var machine = CheckInStateMachine()
        _ = machine.next(after: .failed("down"), random: { 0.5 })
        #expect(machine.consecutiveFailures == 1)
        #expect(machine.next(after: .unchanged(next: 42), random: { 0.5 }) == .wait(.seconds(42)))
        #expect(machine.consecutiveFailures == 0)
    }

    @Test func neverRetriesBeforeRetryAfter() {
        var machine = CheckInStateMachine()
        for draw in [0.0, 0.3, 0.999] {
            guard case .wait(let delay) = machine.next(after: .retryAfter(7), random: { draw }) else {
                Issue.record("expected a wait")
                return
            }
            #expect(delay >= .seconds(7))
            #expect(delay <= .seconds(14))
        }
    }

    @Test func backsOffWithFullJitterUpToTheCap() {
        var machine = CheckInStateMachine(baseDelay: .seconds(1), maximumDelay: .seconds(60))
        var ceilings: [Duration] = []
        for _ in 0..<12 {
            guard case .wait(let top) = machine.next(after: .failed("x"), random: { 0.999_999 }) else { return }
            ceilings.append(top)
        }
        // 1, 2, 4, 8, 16, 32 then capped at 60 seconds.
        #expect(ceilings[0] <= .seconds(1) && ceilings[0] > .milliseconds(900))
        #expect(ceilings[3] <= .seconds(8) && ceilings[3] > .seconds(7))
        #expect(ceilings.last! <= .seconds(60) && ceilings.last! > .seconds(59))
        // Full jitter: a draw of zero waits zero.
        #expect(machine.next(after: .failed("x"), random: { 0 }) == .wait(.zero))
    }

    @Test func aRefusedCredentialStops() {
        var machine = CheckInStateMachine()
        #expect(machine.next(after: .refused(reason: "credential_revoked", message: "revoked"), random: { 0.5 }) == .stop(reason: "credential_revoked: revoked"))
    }
}
