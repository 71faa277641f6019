# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Commit: apply a commit request on a Windows host. Windows PowerShell 5.1.
# Twin of plugins/module_utils/commit.py (POSIX) and of tests/windows/twin.py;
# the protocol is in docs/design.md.
# Per profile: hold parent.lock as Thunderbird does, so that it cannot start
# meanwhile; check every guard (the file is still the one collect read) before
# writing anything; keep a backup; replace each file atomically with
# [IO.File]::Replace, which keeps the file's ACL. Bytes only, never text.
# Argument: the request, base64 of its UTF-8 JSON. Output: one line,
# "RECTORAT-TB-RESPONSE " + base64 of the UTF-8 JSON response.
param([string]$RequestB64)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$Protocol = 1
$Allowed = @('prefs.js', 'user.js', 'folderCache.json')

function Get-InnerException {
    param($ErrorRecord)
    $ex = $ErrorRecord.Exception
    while ($ex -is [Management.Automation.MethodInvocationException] -and $null -ne $ex.InnerException) {
        $ex = $ex.InnerException
    }
    return $ex
}

function Get-Field {
    # A member of a deserialized JSON object, $null when absent (a list
    # comes out unrolled: wrap the call in @() to get an array).
    param($Map, [string]$Name)
    if ($null -ne $Map -and $Map.ContainsKey($Name)) {
        return $Map[$Name]
    }
    return $null
}

function Test-ReparsePoint {
    param([IO.FileSystemInfo]$Info)
    return [bool]($Info.Attributes -band [IO.FileAttributes]::ReparsePoint)
}

function Test-SharingViolation {
    param($Exception)
    return ($Exception -is [IO.IOException]) -and (($Exception.HResult -band 0xFFFF) -in @(32, 33))
}

function Get-ChildEntry {
    # The entry named $Name in folder $Dir, matched without regard to case;
    # $null when it does not exist.
    param([string]$Dir, [string]$Name)
    if ($Name.IndexOfAny([char[]]'*?') -ge 0) {
        return $null
    }
    try {
        $found = (New-Object -TypeName IO.DirectoryInfo -ArgumentList $Dir).GetFileSystemInfos($Name)
    }
    catch {
        $ex = Get-InnerException $_
        if ($ex -is [IO.DirectoryNotFoundException]) {
            return $null
        }
        throw $ex
    }
    foreach ($info in $found) {
        if ($info.Name -ieq $Name) {
            return $info
        }
    }
    if ($found.Count -gt 0) {
        return $found[0]
    }
    return $null
}

function Read-RawFile {
    param([string]$Path)
    $share = [IO.FileShare]::ReadWrite -bor [IO.FileShare]::Delete
    $stream = [IO.File]::Open($Path, [IO.FileMode]::Open, [IO.FileAccess]::Read, $share)
    try {
        $buffer = New-Object -TypeName IO.MemoryStream
        $stream.CopyTo($buffer)
        return , $buffer.ToArray()
    }
    finally {
        $stream.Dispose()
    }
}

function Get-Sha256Hex {
    param([byte[]]$Data)
    $sha = New-Object -TypeName Security.Cryptography.SHA256CryptoServiceProvider
    try {
        return [BitConverter]::ToString($sha.ComputeHash($Data)).Replace('-', '').ToLowerInvariant()
    }
    finally {
        $sha.Dispose()
    }
}

function New-Refusal {
    # An exception carrying the protocol status of the profile.
    param([string]$Status, [string]$Message)
    $refusal = New-Object -TypeName InvalidOperationException -ArgumentList $Message
    $refusal.Data['status'] = $Status
    return $refusal
}

function Resolve-ProfileFolder {
    # The profile folder, walked from the home (when the profile lies below
    # it) so that no component below the home can be a junction or a link.
    param($Entry)
    $path = ([string](Get-Field $Entry 'path')).TrimEnd('\')
    $base = ([string](Get-Field $Entry 'home')).TrimEnd('\')
    if ($base -and $path.StartsWith($base + '\', [StringComparison]::OrdinalIgnoreCase)) {
        $parts = $path.Substring($base.Length + 1).Split('\')
    }
    else {
        $slash = $path.LastIndexOf('\')
        $base = $path.Substring(0, $slash)
        $parts = @($path.Substring($slash + 1))
    }
    $current = $base
    $walked = New-Object -TypeName 'Collections.Generic.List[string]'
    foreach ($part in $parts) {
        if (-not $part) {
            continue
        }
        $info = Get-ChildEntry $current $part
        if ($null -eq $info) {
            throw (New-Refusal 'error' ('{0}: profile folder not found' -f $path))
        }
        $walked.Add($info.Name)
        if (Test-ReparsePoint $info) {
            throw (New-Refusal 'error' ('refused: {0} is a symbolic link' -f ($walked -join '/')))
        }
        if (-not ($info -is [IO.DirectoryInfo])) {
            throw (New-Refusal 'error' ('{0}: not a folder' -f $path))
        }
        $current = $current + '\' + $info.Name
    }
    return $current
}

function Open-ProfileLock {
    # Open (or create) parent.lock sharing nothing, as Thunderbird does; it is
    # deleted when closed, as Thunderbird's is. Refused while Thunderbird runs.
    param([string]$Dir)
    $existing = Get-ChildEntry $Dir 'parent.lock'
    if ($null -ne $existing -and (Test-ReparsePoint $existing)) {
        throw (New-Refusal 'error' 'parent.lock is a symbolic link')
    }
    try {
        return New-Object -TypeName IO.FileStream -ArgumentList @(
            ($Dir + '\parent.lock'), [IO.FileMode]::OpenOrCreate, [IO.FileAccess]::ReadWrite,
            [IO.FileShare]::None, 1, [IO.FileOptions]::DeleteOnClose)
    }
    catch {
        $ex = Get-InnerException $_
        if (Test-SharingViolation $ex) {
            throw (New-Refusal 'running' 'Thunderbird started with this profile')
        }
        throw (New-Refusal 'error' ('cannot open parent.lock: ' + $ex.Message))
    }
}

function Test-Guard {
    # Bytes of each file to write, after checking every guard.
    param([string]$Dir, $Writes)
    $current = @{}
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
            $data = Read-RawFile $info.FullName
            $actual = Get-Sha256Hex $data
        }
        if ($actual -ne (Get-Field $write 'expect_sha256')) {
            throw (New-Refusal 'conflict' ('{0} changed since it was read; nothing written, run again' -f $name))
        }
        $current[$name] = @{ exists = ($null -ne $info); data = $data }
    }
    return $current
}

function Write-NewFile {
    # Create $Path (it must not exist) with $Data, flushed to disk.
    param([string]$Path, [byte[]]$Data)
    $stream = New-Object -TypeName IO.FileStream -ArgumentList @(
        $Path, [IO.FileMode]::CreateNew, [IO.FileAccess]::Write, [IO.FileShare]::None)
    try {
        $stream.Write($Data, 0, $Data.Length)
        $stream.Flush($true)
    }
    catch {
        $stream.Dispose()
        [IO.File]::Delete($Path)
        throw
    }
    $stream.Dispose()
}

function Invoke-ProfileCommit {
    param($Entry, [bool]$Backup, [string]$Stamp)
    $result = @{
        path = Get-Field $Entry 'path'; status = 'written'; error = $null
        written = New-Object -TypeName 'Collections.Generic.List[string]'
        backups = New-Object -TypeName 'Collections.Generic.List[string]'
    }
    $lock = $null
    $temps = @{}
    $swapped = $false
    try {
        $dir = Resolve-ProfileFolder $Entry
        $lock = Open-ProfileLock $dir
        $writes = @(Get-Field $Entry 'writes')
        $current = Test-Guard $dir $writes
        # Every backup and every new file is written in full before the first
        # file is replaced, so a failure leaves the profile as it was.
        foreach ($write in $writes) {
            $name = [string](Get-Field $write 'rel')
            $state = $current[$name]
            if ($Backup -and $state.exists) {
                $backupName = '{0}.{1}.bak' -f $name, $Stamp
                Write-NewFile ($dir + '\' + $backupName) $state.data
                $result.backups.Add($backupName)
            }
            $tmp = '{0}\.{1}.rectorat-{2}.tmp' -f $dir, $name, $PID
            Write-NewFile $tmp ([Convert]::FromBase64String([string](Get-Field $write 'b64')))
            $temps[$name] = $tmp
        }
        $swapped = $true
        foreach ($write in $writes) {
            $name = [string](Get-Field $write 'rel')
            if ($current[$name].exists) {
                [IO.File]::Replace($temps[$name], ($dir + '\' + $name), [NullString]::Value)
            }
            else {
                [IO.File]::Move($temps[$name], ($dir + '\' + $name))
            }
            $temps.Remove($name)
            $result.written.Add($name)
        }
    }
    catch {
        $ex = Get-InnerException $_
        $result.status = 'error'
        if ($ex.Data.Contains('status')) {
            $result.status = $ex.Data['status']
        }
        $result.error = $ex.Message
        if (-not $swapped) {
            foreach ($backupName in $result.backups) {
                if ([IO.File]::Exists($dir + '\' + $backupName)) {
                    [IO.File]::Delete($dir + '\' + $backupName)
                }
            }
            $result.backups.Clear()
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
    $stamp = [string](Get-Field $Request 'stamp')
    $results = New-Object -TypeName 'Collections.Generic.List[object]'
    foreach ($entry in @(Get-Field $Request 'profiles')) {
        if ($null -ne $entry) {
            $results.Add((Invoke-ProfileCommit $entry $backup $stamp))
        }
    }
    return @{ protocol = $Protocol; profiles = $results }
}

try {
    Add-Type -AssemblyName System.Web.Extensions
    $serializer = New-Object -TypeName Web.Script.Serialization.JavaScriptSerializer
    $serializer.MaxJsonLength = [int]::MaxValue
    $request = $serializer.DeserializeObject([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($RequestB64)))
    $response = Invoke-Commit $request
}
catch {
    $response = @{
        protocol = $Protocol
        fatal = 'commit.ps1 line {0}: {1}' -f $_.InvocationInfo.ScriptLineNumber, (Get-InnerException $_).Message
    }
}
$json = ConvertTo-Json -InputObject $response -Depth 32 -Compress
'RECTORAT-TB-RESPONSE ' + [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($json))
