# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Commit: apply a commit request on a Windows host. Windows PowerShell 5.1,
# run after prelude.ps1 (which reads the request and prints the response).
# Twin of plugins/module_utils/commit.py (POSIX) and of tests/windows/twin.py;
# the protocol is in docs/design.md.
# Per profile: hold parent.lock as Thunderbird does, so that it cannot start
# meanwhile; check every guard (the file is still the one collect read, owned
# as it was, not read-only) before writing anything; keep a backup; replace
# each file with [IO.File]::Replace, which keeps the file's ACL. Bytes only.

$Allowed = @('prefs.js', 'user.js', 'folderCache.json')
# Temp files this script makes: .<file>[.<stamp>.bak|.old].rectorat-<pid>.tmp
# ([0-9], not \d: .NET's \d matches every Unicode digit, which [int] refuses).
$TempPattern = '^\.(prefs\.js|user\.js|folderCache\.json)(\.[0-9]{8}T[0-9]{6}Z\.bak|\.old)?\.rectorat-([0-9]{1,9})\.tmp$'

function Test-Guard {
    # Bytes of each file to write, after checking every guard under the lock:
    # the same bytes as collect read, not read-only, owned as the folder is.
    param([string]$Dir, $Writes, [long]$MaxBytes)
    $current = @{}
    $folderOwner = Get-FolderOwner $Dir
    foreach ($write in $Writes) {
        $name = [string](Get-Field $write 'rel')
        if ($Allowed -notcontains $name) {
            throw (New-Refusal 'error' ("refusing to write '{0}': not a file this collection manages" -f $name))
        }
        $info = Get-ChildEntry $Dir $name
        $data = $null
        $actual = $null
        if ($null -ne $info) {
            if (Test-ReparsePoint $info) {
                throw (New-Refusal 'error' ('{0} is a symbolic link' -f $name))
            }
            if ($info -is [IO.DirectoryInfo]) {
                throw (New-Refusal 'error' ('{0} is not a regular file' -f $name))
            }
            if (($info.Attributes -band [IO.FileAttributes]::ReadOnly) -ne 0) {
                throw (New-Refusal 'error' ('{0} is read-only (locked by an administrator?); nothing written' -f $name))
            }
            $size = Get-Field $write 'expect_size'
            if ($null -ne $size -and $info.Length -ne $size) {
                throw (New-Refusal 'conflict' ('{0} changed since it was read (its size); nothing written, run again' -f $name))
            }
            $read = Read-RawFile $info.FullName $MaxBytes
            if (Test-ForeignOwner $read.owner $folderOwner) {
                throw (New-Refusal 'error' ('{0} is owned by {1}, not by the owner of the profile folder ({2}); nothing written' -f @(
                            $name, $read.owner, $folderOwner)))
            }
            $data = $read.data
            $actual = 'larger than {0} bytes' -f $MaxBytes
            if ($null -ne $data) {
                $actual = Get-Sha256Hex $data
            }
        }
        if ($actual -ne (Get-Field $write 'expect_sha256')) {
            throw (New-Refusal 'conflict' ('{0} changed since it was read; nothing written, run again' -f $name))
        }
        $current[$name] = @{ exists = ($null -ne $info); data = $data }
    }
    return $current
}

function Remove-StaleTemp {
    # Temp files of a run that was killed: their process is gone. The old
    # bytes kept by a Replace that was cut short go back to their name.
    param([string]$Dir)
    $entries = (New-Object -TypeName IO.DirectoryInfo -ArgumentList $Dir).GetFiles()
    foreach ($entry in $entries) {
        $match = [regex]::Match($entry.Name, $TempPattern)
        if (-not $match.Success -or (Test-ReparsePoint $entry)) {
            continue
        }
        # This run has made no temp file here yet: one named with its own
        # process id is left by an earlier process that had the same id.
        $runId = [int]$match.Groups[3].Value
        if ($runId -ne $PID -and (Test-ProcessAlive $runId)) {
            continue
        }
        $target = $Dir + '\' + $match.Groups[1].Value
        if ($match.Groups[2].Value -eq '.old' -and -not [IO.File]::Exists($target)) {
            [IO.File]::Move($entry.FullName, $target)
        }
        else {
            [IO.File]::Delete($entry.FullName)
        }
    }
}

function Get-TempName {
    param([string]$Dir, [string]$Name)
    return '{0}\.{1}.rectorat-{2}.tmp' -f $Dir, $Name, $PID
}

function Write-Backup {
    # The backup, written under a temp name and then moved into place, so
    # that its name never holds part of a file. A backup of that name left
    # by a run earlier in the same second is kept if it holds these very
    # bytes. $true when this run made it.
    param([string]$Dir, [string]$Name, [byte[]]$Data, [long]$MaxBytes)
    $existing = Get-ChildEntry $Dir $Name
    if ($null -ne $existing) {
        $read = $null
        if (-not ($existing -is [IO.DirectoryInfo]) -and -not (Test-ReparsePoint $existing)) {
            $read = Read-RawFile $existing.FullName $MaxBytes
        }
        if ($null -ne $read -and $null -ne $read.data -and (Get-Sha256Hex $read.data) -eq (Get-Sha256Hex $Data)) {
            return $false
        }
        throw (New-Refusal 'error' ('{0} already exists and holds other bytes; nothing written, run again' -f $Name))
    }
    $tmp = Get-TempName $Dir $Name
    Write-NewFile $tmp $Data
    try {
        [IO.File]::Move($tmp, $Dir + '\' + $Name)
    }
    catch {
        [IO.File]::Delete($tmp)
        throw
    }
    return $true
}

function Restore-Replaced {
    # Give each replaced file its old bytes again (kept by Invoke-Replace), or
    # remove it when it is new; $false if any could not be.
    param([string]$Dir, $Names, $Current)
    $ok = $true
    foreach ($name in $Names) {
        $target = $Dir + '\' + $name
        $old = Get-TempName $Dir ($name + '.old')
        try {
            if ($Current[$name].exists) {
                [IO.File]::Delete($target)
                [IO.File]::Move($old, $target)
            }
            else {
                [IO.File]::Delete($target)
            }
        }
        catch {
            $ok = $false
        }
    }
    return $ok
}

function Invoke-ProfileCommit {
    param($Entry, [bool]$Backup, [string]$Stamp, [long]$MaxBytes)
    $result = @{
        path = Get-Field $Entry 'path'; status = 'written'; error = $null
        written = New-Object -TypeName 'Collections.Generic.List[string]'
        backups = New-Object -TypeName 'Collections.Generic.List[string]'
    }
    $lock = $null
    $dir = $null
    $made = New-Object -TypeName 'Collections.Generic.List[string]'
    $temps = @{}
    $current = @{}
    $replaced = New-Object -TypeName 'Collections.Generic.List[string]'
    try {
        $dir = ConvertTo-LongPath (Resolve-ProfileFolder $Entry)
        $lock = Open-ProfileLock $dir
        $writes = Get-ListField $Entry 'writes'
        Remove-StaleTemp $dir
        $current = Test-Guard $dir $writes $MaxBytes
        # Every backup and every new file is written in full before the first
        # file is replaced, so a failure leaves the profile as it was.
        foreach ($write in $writes) {
            $name = [string](Get-Field $write 'rel')
            $state = $current[$name]
            if ($Backup -and $state.exists) {
                $backupName = '{0}.{1}.bak' -f $name, $Stamp
                if (Write-Backup $dir $backupName $state.data $MaxBytes) {
                    $made.Add($backupName)
                }
                $result.backups.Add($backupName)
            }
            $tmp = Get-TempName $dir $name
            Write-NewFile $tmp ([Convert]::FromBase64String([string](Get-Field $write 'b64')))
            $temps[$name] = $tmp
        }
        foreach ($write in $writes) {
            $name = [string](Get-Field $write 'rel')
            $target = $dir + '\' + $name
            if ($current[$name].exists) {
                Invoke-Replace $temps[$name] $target (Get-TempName $dir ($name + '.old'))
            }
            else {
                [IO.File]::Move($temps[$name], $target)
            }
            $temps.Remove($name)
            $replaced.Add($name)
        }
        $result.written.AddRange($replaced)
        $replaced.Clear()
        foreach ($name in $result.written) {
            # A leftover is removed by the next run (Remove-StaleTemp).
            $old = Get-TempName $dir ($name + '.old')
            try {
                [IO.File]::Delete($old)
            }
            catch {
                Write-Verbose ('{0} is left for the next run' -f $old)
            }
        }
    }
    catch {
        $ex = Get-InnerException $_
        $result.status = 'error'
        if ($ex.Data.Contains('status')) {
            $result.status = $ex.Data['status']
        }
        $result.error = $ex.Message
        if (Restore-Replaced $dir $replaced $current) {
            foreach ($backupName in $made) {
                [IO.File]::Delete($dir + '\' + $backupName)
            }
            $result.backups.Clear()
        }
        else {
            $result.error = '{0}; putting the old bytes of {1} back failed too: the backups hold them' -f $ex.Message, ($replaced -join ', ')
        }
    }
    finally {
        foreach ($tmp in $temps.Values) {
            if ([IO.File]::Exists($tmp)) {
                [IO.File]::Delete($tmp)
            }
        }
        if ($null -ne $lock) {
            $lock.Dispose()
        }
    }
    return $result
}

function Invoke-Commit {
    param($Request)
    $backup = $true
    if ($null -ne (Get-Field $Request 'backup')) {
        $backup = [bool](Get-Field $Request 'backup')
    }
    $maxBytes = [long]$DefaultMaxFileBytes
    if (Get-Field $Request 'max_file_bytes') {
        $maxBytes = [long](Get-Field $Request 'max_file_bytes')
    }
    $stamp = [string](Get-Field $Request 'stamp')
    $results = New-Object -TypeName 'Collections.Generic.List[object]'
    foreach ($entry in (Get-ListField $Request 'profiles')) {
        if ($null -eq $entry) {
            continue
        }
        try {
            $results.Add((Invoke-ProfileCommit $entry $backup $stamp $maxBytes))
        }
        catch {
            # Kept to its own profile, whatever failed.
            $results.Add(@{
                    path = Get-Field $entry 'path'; status = 'error'; error = (Get-InnerException $_).Message
                    written = @(); backups = @()
                })
        }
    }
    return @{ protocol = $Protocol; profiles = $results }
}

Invoke-Script 'commit' { param($Request) Invoke-Commit $Request }
