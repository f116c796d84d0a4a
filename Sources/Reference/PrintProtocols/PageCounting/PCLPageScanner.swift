/// Counts the pages of an HP PCL 5 (or PCL 3) stream by the page ejects a
/// printer would make (HP PCL 5 Printer Language Technical Reference Manual).
///
/// Escape sequences (PCL 5 TRM, chapter 2):
///
///     two-character:   ESC X                      X in '0'...'~'
///     parameterized:   ESC p [g] (value c)* value C [data]
///                      p in '!'.../, g in '`'...'~', value = [+-]digits[.digits],
///                      c in '`'...'~' continues a combined sequence, C in '@'...'^' ends it
///
/// Page ejects, as a printer (and GhostPCL) makes them:
/// - always: form feed (0x0C) in PCL text mode; `ESC&a#G` (duplex page side, 0–2);
/// - only when the page has marks: `ESC E` (reset), `ESC&l#A` (page size),
///   `ESC&l#H` (paper source, including `ESC&l0H` eject), `ESC&l#O` (a changed
///   orientation), `ESC&l#M` (media type), `ESC*o#Q` (print quality), and the end of
///   the job (UEL or end of data), since a printer prints a partial last page.
///
/// A form feed is not an eject inside HP-GL/2 (`ESC%#B` … `ESC%#A`), inside the
/// binary data of a parameterized escape whose byte count follows it (`…#W`,
/// `ESC*b#V`, `ESC&p#X`), while a macro is being defined (`ESC&f0X` … `ESC&f1X`)
/// or in display-functions mode (`ESC Y` … `ESC Z`).
///
/// Marks are printable characters other than space, raster rows with data,
/// rectangle fills (`ESC*c#P`), transparent print data and HP-GL/2 drawing
/// commands. Copies come from `ESC&l#X`; `ESC E` restores the PJL default.
struct PCLPageScanner: Sendable {
    private enum Mode: UInt8, Sendable {
        /// Text and control codes.
        case text
        /// Just after ESC.
        case escape
        /// After ESC and a parameterized character; the group character may follow.
        case group
        /// Inside the value/parameter part of a parameterized sequence.
        case value
        /// Skipping the byte-count data of a command.
        case data
        /// HP-GL/2 mode.
        case hpgl
        /// HP-GL/2 mode, just after ESC.
        case hpglEscape
        /// HP-GL/2 mode, inside `ESC%…`.
        case hpglPercent
        /// Display functions: everything printed, only `ESC Z` ends it.
        case display
        /// Display functions, just after ESC.
        case displayEscape
    }

    private var mode = Mode.text
    private var parameterClass: UInt8 = 0
    private var group: UInt8 = 0
    private var value = 0
    private var valueNegative = false
    private var valueHasDigits = false
    private var valueInFraction = false
    private var valueGarbage = false
    private var dataRemaining = 0
    private var dataContinuesCombined = false
    private var previousHPGLLetter: UInt8 = 0

    private var marked = false
    private var definingMacro = false
    private var orientation = 0

    private let defaultCopies: Int
    private let maxCopies: Int
    private var copiesInEffect: Int

    /// Pages ejected so far.
    private(set) var pages = 0
    /// Sum over ejected pages of the copies in effect at each eject.
    private(set) var impressions = 0
    /// The copies every page was ejected with, or nil once two pages disagree.
    private(set) var uniformCopies: Int?
    private var sawPage = false

    init(defaultCopies: Int, maxCopies: Int) {
        self.defaultCopies = defaultCopies
        self.maxCopies = maxCopies
        self.copiesInEffect = defaultCopies
        self.uniformCopies = defaultCopies
    }

    /// The copies to report when no page was ejected yet: the last one asked for.
    var lastCopies: Int { sawPage ? (uniformCopies ?? copiesInEffect) : copiesInEffect }

    mutating func consume(_ bytes: UnsafeRawBufferPointer) {
        var index = 0
        let count = bytes.count
        while index < count {
            switch mode {
            case .text:
                index = scanText(bytes, from: index)
            case .data:
                let take = min(dataRemaining, count - index)
                index += take
                dataRemaining -= take
                if dataRemaining == 0 { endData() }
            case .hpgl:
                index = scanHPGL(bytes, from: index)
            case .value:
                // Digits in a tight loop; anything else goes through the state machine.
                while index < count {
                    let byte = bytes[index]
                    guard ByteScan.isDigit(byte), !valueGarbage, !valueInFraction else { break }
                    value = ByteScan.saturatingDecimalStep(value, byte)
                    valueHasDigits = true
                    index += 1
                }
                if index < count {
                    valueByte(bytes[index])
                    index += 1
                }
            default:
                step(bytes[index])
                index += 1
            }
        }
    }

    /// The end of the job: a printer prints the partial last page.
    mutating func finish() {
        if mode == .data { endData() }
        ejectIfMarked()
    }

    // MARK: - Text

    private mutating func scanText(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        let count = bytes.count
        while index < count {
            if marked || definingMacro {
                if bytes[index] == ByteScan.esc {
                    // The usual case after binary data: the next command follows at once.
                    mode = .escape
                    return index + 1
                }
                // Only ESC and FF matter now: jump with memchr.
                let nextEscape = ByteScan.firstIndex(of: ByteScan.esc, in: bytes, from: index) ?? count
                if !definingMacro,
                    let feed = ByteScan.firstIndex(of: ByteScan.formFeed, in: bytes, from: index, to: nextEscape)
                {
                    // The page is clean again: look at each byte until it has a mark.
                    ejectAlways()
                    index = feed + 1
                    continue
                }
                if nextEscape == count { return count }
                mode = .escape
                return nextEscape + 1
            }
            let byte = bytes[index]
            index += 1
            switch byte {
            case ByteScan.esc:
                mode = .escape
                return index
            case ByteScan.formFeed:
                ejectAlways()
            case 0x21...0x7E, 0x80...0xFF:
                marked = true
            default:
                break
            }
        }
        return index
    }

    // MARK: - Escape sequences

    private mutating func step(_ byte: UInt8) {
        switch mode {
        case .escape:
            switch byte {
            case 0x21...0x2F:
                parameterClass = byte
                mode = .group
            case 0x30...0x7E:
                mode = .text
                twoCharacterCommand(byte)
            default:
                // Not an escape sequence: the ESC is dropped and the byte read as text.
                mode = .text
                reprocessAsText(byte)
            }
        case .group:
            beginValue()
            mode = .value
            if byte >= 0x60 && byte <= 0x7E {
                group = byte
            } else {
                group = 0
                valueByte(byte)
            }
        case .value:
            valueByte(byte)
        case .hpglEscape:
            switch byte {
            case UInt8(ascii: "E"):
                mode = .text
                reset()
            case UInt8(ascii: "%"):
                beginValue()
                mode = .hpglPercent
            default:
                mode = .hpgl
            }
        case .hpglPercent:
            if ByteScan.isDigit(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") {
                accumulate(byte)
            } else if byte == UInt8(ascii: "A") {
                mode = .text
            } else {
                mode = .hpgl
            }
        case .display:
            if byte == ByteScan.esc {
                mode = .displayEscape
            } else if !definingMacro {
                marked = true
            }
        case .displayEscape:
            if !definingMacro { marked = true }
            mode = byte == UInt8(ascii: "Z") ? .text : .display
        case .text, .data, .hpgl:
            preconditionFailure("handled in consume")
        }
    }

    private mutating func reprocessAsText(_ byte: UInt8) {
        switch byte {
        case ByteScan.esc: mode = .escape
        case ByteScan.formFeed: if !definingMacro { ejectAlways() }
        case 0x21...0x7E, 0x80...0xFF: if !definingMacro { marked = true }
        default: break
        }
    }

    private mutating func twoCharacterCommand(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "E"):
            reset()
        case UInt8(ascii: "Y"):
            mode = .display
        default:
            break
        }
    }

    private mutating func beginValue() {
        value = 0
        valueNegative = false
        valueHasDigits = false
        valueInFraction = false
        valueGarbage = false
    }

    private mutating func accumulate(_ byte: UInt8) {
        if ByteScan.isDigit(byte) {
            if !valueInFraction {
                value = ByteScan.saturatingDecimalStep(value, byte)
            }
            valueHasDigits = true
        } else if byte == UInt8(ascii: "-") {
            valueNegative = true
        }
    }

    private mutating func valueByte(_ byte: UInt8) {
        switch byte {
        case 0x30...0x39, UInt8(ascii: "+"), UInt8(ascii: "-"):
            if !valueGarbage { accumulate(byte) }
        case UInt8(ascii: "."):
            valueInFraction = true
        case UInt8(ascii: " "):
            break
        case 0x20...0x3F:
            // Like GhostPCL: stray characters in the number's code range are ignored.
            valueGarbage = valueHasDigits
        case 0x60...0x7E:
            parameter(byte - 0x20, combined: true)
        case 0x40...0x5E:
            parameter(byte, combined: false)
        default:
            // Out of place: the sequence ends and the byte is read again as text.
            mode = .text
            reprocessAsText(byte)
        }
    }

    /// One parameter of a (possibly combined) sequence: `command` is its upper-case character.
    private mutating func parameter(_ command: UInt8, combined: Bool) {
        let argument = valueNegative ? -value : value
        let count = max(argument, 0)
        if parameterClass == UInt8(ascii: "*") && group == UInt8(ascii: "b") && command == UInt8(ascii: "W") {
            // A raster row, by far the most frequent command: no table lookups.
            if count > 0 {
                if !definingMacro { marked = true }
                dataRemaining = count
                dataContinuesCombined = combined
                mode = .data
            } else {
                mode = combined ? .value : .text
            }
            beginValue()
            return
        }
        let carriesData = Self.carriesData(parameterClass, group, command)
        execute(command, argument)
        if mode == .hpgl {
            // `ESC%#B` switched to HP-GL/2; nothing of the sequence follows.
            beginValue()
            return
        }
        if carriesData && count > 0 {
            dataRemaining = count
            dataContinuesCombined = combined
            mode = .data
        } else {
            mode = combined ? .value : .text
        }
        beginValue()
    }

    private mutating func endData() {
        mode = dataContinuesCombined ? .value : .text
        beginValue()
    }

    /// Whether the command is followed by `value` bytes of binary data.
    private static func carriesData(_ parameterClass: UInt8, _ group: UInt8, _ command: UInt8) -> Bool {
        switch (parameterClass, group, command) {
        case (UInt8(ascii: "&"), UInt8(ascii: "p"), UInt8(ascii: "X")):  // transparent print data
            return true
        case (UInt8(ascii: "*"), UInt8(ascii: "b"), UInt8(ascii: "V")):  // raster data by plane
            return true
        case (UInt8(ascii: "&"), UInt8(ascii: "k"), UInt8(ascii: "W")):  // print mode (PCL 3): no data
            return false
        case (_, _, UInt8(ascii: "W")):
            // Raster rows, fonts, characters, symbol sets, patterns, CID, dither
            // matrices, lookup tables, alphanumeric IDs, logical page, driver config.
            return true
        default:
            return false
        }
    }

    private mutating func execute(_ command: UInt8, _ argument: Int) {
        switch (parameterClass, group, command) {
        case (UInt8(ascii: "&"), UInt8(ascii: "f"), UInt8(ascii: "X")):
            if argument == 0 { definingMacro = true } else if argument == 1 { definingMacro = false }
            return
        case (UInt8(ascii: "%"), 0, UInt8(ascii: "B")):
            if !definingMacro {
                mode = .hpgl
                previousHPGLLetter = 0
            }
            return
        default:
            break
        }
        guard !definingMacro else { return }
        switch (parameterClass, group, command) {
        case (UInt8(ascii: "&"), UInt8(ascii: "l"), UInt8(ascii: "X")):
            if (1...maxCopies).contains(argument) { copiesInEffect = argument }
        case (UInt8(ascii: "&"), UInt8(ascii: "l"), UInt8(ascii: "A")),
            (UInt8(ascii: "&"), UInt8(ascii: "l"), UInt8(ascii: "H")):
            ejectIfMarked()
        case (UInt8(ascii: "&"), UInt8(ascii: "l"), UInt8(ascii: "M")):
            if (0...4).contains(argument) { ejectIfMarked() }
        case (UInt8(ascii: "*"), UInt8(ascii: "o"), UInt8(ascii: "Q")):
            if (-1...1).contains(argument) { ejectIfMarked() }
        case (UInt8(ascii: "&"), UInt8(ascii: "l"), UInt8(ascii: "O")):
            if (0...3).contains(argument) && argument != orientation {
                ejectIfMarked()
                orientation = argument
            }
        case (UInt8(ascii: "&"), UInt8(ascii: "a"), UInt8(ascii: "G")):
            if (0...2).contains(argument) { ejectAlways() }
        case (UInt8(ascii: "*"), UInt8(ascii: "c"), UInt8(ascii: "P")),
            (UInt8(ascii: "*"), UInt8(ascii: "b"), UInt8(ascii: "W")),
            (UInt8(ascii: "*"), UInt8(ascii: "b"), UInt8(ascii: "V")),
            (UInt8(ascii: "&"), UInt8(ascii: "p"), UInt8(ascii: "X")):
            if command == UInt8(ascii: "P") || argument > 0 { marked = true }
        default:
            break
        }
    }

    // MARK: - HP-GL/2

    /// HP-GL/2 drawing mnemonics (HP-GL/2 Reference Guide): any of them marks the page.
    private static func isDrawingMnemonic(_ first: UInt8, _ second: UInt8) -> Bool {
        switch (first, second) {
        case (UInt8(ascii: "P"), UInt8(ascii: "D")), (UInt8(ascii: "P"), UInt8(ascii: "E")),
            (UInt8(ascii: "L"), UInt8(ascii: "B")), (UInt8(ascii: "E"), UInt8(ascii: "A")),
            (UInt8(ascii: "E"), UInt8(ascii: "R")), (UInt8(ascii: "E"), UInt8(ascii: "P")),
            (UInt8(ascii: "F"), UInt8(ascii: "P")), (UInt8(ascii: "R"), UInt8(ascii: "A")),
            (UInt8(ascii: "R"), UInt8(ascii: "R")), (UInt8(ascii: "W"), UInt8(ascii: "G")),
            (UInt8(ascii: "E"), UInt8(ascii: "W")), (UInt8(ascii: "C"), UInt8(ascii: "I")),
            (UInt8(ascii: "A"), UInt8(ascii: "A")), (UInt8(ascii: "A"), UInt8(ascii: "R")),
            (UInt8(ascii: "A"), UInt8(ascii: "T")), (UInt8(ascii: "B"), UInt8(ascii: "R")),
            (UInt8(ascii: "B"), UInt8(ascii: "Z")), (UInt8(ascii: "R"), UInt8(ascii: "T")),
            (UInt8(ascii: "S"), UInt8(ascii: "M")):
            return true
        default:
            return false
        }
    }

    private mutating func scanHPGL(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        let count = bytes.count
        if marked || definingMacro {
            guard let escape = ByteScan.firstIndex(of: ByteScan.esc, in: bytes, from: index) else { return count }
            mode = .hpglEscape
            return escape + 1
        }
        while index < count {
            let byte = bytes[index]
            index += 1
            if byte == ByteScan.esc {
                mode = .hpglEscape
                return index
            }
            let letter = ByteScan.upper(byte)
            if letter >= UInt8(ascii: "A") && letter <= UInt8(ascii: "Z") {
                if previousHPGLLetter != 0 && Self.isDrawingMnemonic(previousHPGLLetter, letter) {
                    marked = true
                    return index
                }
                previousHPGLLetter = letter
            } else {
                previousHPGLLetter = 0
            }
        }
        return index
    }

    // MARK: - Pages

    private mutating func reset() {
        definingMacro = false
        ejectIfMarked()
        copiesInEffect = defaultCopies
        orientation = 0
    }

    private mutating func ejectIfMarked() {
        if marked { ejectAlways() }
    }

    private mutating func ejectAlways() {
        marked = false
        pages = min(pages + 1, ByteScan.decimalCeiling)
        impressions = min(impressions + copiesInEffect, ByteScan.decimalCeiling)
        if !sawPage {
            uniformCopies = copiesInEffect
            sawPage = true
        } else if uniformCopies != copiesInEffect {
            uniformCopies = nil
        }
    }
}
