# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# AutoConfig: the two files of thunderbird_autoconfig's hook in the
# Thunderbird installations of a Windows host. Windows PowerShell 5.1, run
# after prelude.ps1. Twin: tests/windows/twin_autoconfig.py. Every decision
# (which installation, what bytes, a conflict with a site AutoConfig) is
# made on the controller by plugins/module_utils/autoconfig.py; this script
# reads bytes and carries out the operations it is given.
# mode 'read': per installation folder, the bytes of the files whose names
# the request gives (patterns), beside the binary and in defaults\pref.
# mode 'write': per installation, each operation guarded by the SHA-256 of
# the bytes read (no guard: the file must not exist), every guard checked
# before the first write; a new file is written under a temp name in its
# folder, then renamed, with [IO.File]::Replace (which keeps the ACL) over
# the old one, whose bytes stay under a temp name until it succeeded.

# Names of the files written: no folder, nothing but letters, digits and ._-
# (\z: .NET's $ also matches before a final newline).
$HookNamePattern = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\z'
# Temp files this script makes: .<name>[.old].rectorat-<pid>.tmp
$HookTempPattern = '^\.([A-Za-z0-9][A-Za-z0-9._-]{0,127}?)(\.old)?\.rectorat-([0-9]{1,9})\.tmp$'
$HookMaxFiles = 256

function Resolve-InstallFolder {
    # $Path walked from the root of its drive, each folder under its name on
    # disk; $null when one is missing. A junction or a symbolic link on the
    # way is refused: the folder would not be the one it seems to be.
    param([string]$Path)
    $parts = $Path.Replace('/', '\').TrimEnd('\').Split('\')
    if (-not ($parts[0] -match '^[A-Za-z]:$')) {
        throw (New-Refusal 'error' ('{0} is not an absolute path on a drive' -f $Path))
    }
    $current = $parts[0]
    for ($i = 1; $i -lt $parts.Count; $i++) {
        if ($parts[$i] -eq '.' -or $parts[$i] -eq '..') {
            throw (New-Refusal 'error' ('{0}: . and .. are not accepted' -f $Path))
        }
        if (-not $parts[$i]) {
            continue
        }
        $info = Get-ChildEntry $current $parts[$i]
        if ($null -eq $info) {
            return $null
        }
        if (Test-ReparsePoint $info) {
            throw (New-Refusal 'error' ('refused: {0}\{1} is a junction or a symbolic link' -f $current, $info.Name))
        }
        if (-not ($info -is [IO.DirectoryInfo])) {
            throw (New-Refusal 'error' ('{0}\{1} is not a folder' -f $current, $info.Name))
        }
        $current = $current + '\' + $info.Name
    }
    return $current
}

function Read-HookFiles {
    # {name on disk: base64} of the files of $Dir whose name is -like one of
    # $Patterns, each read on one handle, within $MaxBytes each and what is
    # left of the run's budget.
    param([string]$Dir, $Patterns, [long]$MaxBytes, $Budget)
    $files = @{}
    $count = 0
    foreach ($info in (New-Object -TypeName IO.DirectoryInfo -ArgumentList (ConvertTo-LongPath $Dir)).GetFiles()) {
        $wanted = $false
        foreach ($pattern in $Patterns) {
            if ($info.Name -like [string]$pattern) {
                $wanted = $true
            }
        }
        if (-not $wanted) {
            continue
        }
        $count = $count + 1
        if ($count -gt $HookMaxFiles) {
            throw (New-Refusal 'error' ('more than {0} files to read in {1}' -f $HookMaxFiles, $Dir))
        }
        if (Test-ReparsePoint $info) {
            throw (New-Refusal 'error' ('{0}\{1} is a symbolic link' -f $Dir, $info.Name))
        }
        $limit = [Math]::Min($MaxBytes, [long]$Budget.left)
        if ($info.Length -gt $limit) {
            throw (New-Refusal 'error' ('{0} is larger than {1} bytes, or the read budget of the run is spent' -f $info.Name, $limit))
        }
        $read = Read-RawFile $info.FullName $limit
        if ($null -eq $read.data) {
            throw (New-Refusal 'error' ('{0} grew past {1} bytes while it was read' -f $info.Name, $limit))
        }
        $Budget.left = [long]$Budget.left - $read.data.Length
        $files[$info.Name] = [Convert]::ToBase64String($read.data)
    }
    return $files
}

function Read-Installation {
    # What the plan needs of one installation folder; found is $false when
    # the folder does not exist. A failure is kept to this installation.
    param($Entry, [long]$MaxBytes, $Budget)
    $result = @{
        path = [string](Get-Field $Entry 'path'); found = $false; error = $null; dir = $null; pref_dir = $null
        markers = New-Object -TypeName 'Collections.Generic.List[string]'; install = @{}; pref = @{}
    }
    try {
        $dir = Resolve-InstallFolder $result.path
        if ($null -eq $dir) {
            return $result
        }
        $result.found = $true
        $result.dir = $dir
        foreach ($marker in (Get-ListField $Entry 'markers')) {
            if ($null -ne (Get-ChildEntry $dir ([string]$marker))) {
                $result.markers.Add([string]$marker)
            }
        }
        $result.install = Read-HookFiles $dir (Get-ListField $Entry 'install_files') $MaxBytes $Budget
        $result.pref_dir = Resolve-InstallFolder ($dir + '\defaults\pref')
        if ($null -ne $result.pref_dir) {
            $result.pref = Read-HookFiles $result.pref_dir (Get-ListField $Entry 'pref_files') $MaxBytes $Budget
        }
    }
    catch {
        $result.error = (Get-InnerException $_).Message
    }
    return $result
}

function Get-HookTempName {
    param([string]$Dir, [string]$Name)
    return '{0}\.{1}.rectorat-{2}.tmp' -f $Dir.TrimEnd('\'), $Name, $PID
}

function Remove-HookTemp {
    # Temp files of $Name left by a run that was killed (its process is
    # gone); the old bytes kept by a Replace cut short go back to their name.
    param([string]$Dir, [string]$Name)
    foreach ($entry in (New-Object -TypeName IO.DirectoryInfo -ArgumentList $Dir).GetFiles()) {
        $match = [regex]::Match($entry.Name, $HookTempPattern)
        if (-not $match.Success -or $match.Groups[1].Value -cne $Name -or (Test-ReparsePoint $entry)) {
            continue
        }
        $runId = [int]$match.Groups[3].Value
        if ($runId -ne $PID -and (Test-ProcessAlive $runId)) {
            continue
        }
        $target = $Dir.TrimEnd('\') + '\' + $Name
        if ($match.Groups[2].Value -eq '.old' -and -not [IO.File]::Exists($target)) {
            [IO.File]::Move($entry.FullName, $target)
        }
        else {
            [IO.File]::Delete($entry.FullName)
        }
    }
}

function Test-HookGuard {
    # Whether the file of $Op exists, once checked to hold the bytes read
    # (guard: their SHA-256; $null: no file) and to be a plain, writable file.
    param([string]$Dir, $Op, [long]$MaxBytes)
    $name = [string](Get-Field $Op 'name')
    $info = Get-ChildEntry $Dir $name
    $actual = $null
    if ($null -ne $info) {
        if ((Test-ReparsePoint $info) -or ($info -is [IO.DirectoryInfo])) {
            throw (New-Refusal 'error' ('{0} is not a regular file; nothing written' -f $name))
        }
        if (($info.Attributes -band [IO.FileAttributes]::ReadOnly) -ne 0) {
            throw (New-Refusal 'error' ('{0} is read-only; nothing written' -f $name))
        }
        $read = Read-RawFile $info.FullName $MaxBytes
        $actual = 'larger than {0} bytes' -f $MaxBytes
        if ($null -ne $read.data) {
            $actual = Get-Sha256Hex $read.data
        }
    }
    if ($actual -ne (Get-Field $Op 'guard')) {
        throw (New-Refusal 'error' ('{0} changed since it was read; nothing written, run again' -f $name))
    }
    return ($null -ne $info)
}

function Invoke-HookReplace {
    # Invoke-Replace (the old file kept under $Old until it worked), then
    # the old file removed.
    param([string]$Source, [string]$Target, [string]$Old)
    Invoke-Replace $Source $Target $Old
    try {
        [IO.File]::Delete($Old)
    }
    catch {
        Write-Verbose ('{0} is left for the next run' -f $Old)
    }
}

function Invoke-InstallationWrite {
    # The operations of one installation; done lists what was carried out
    # before a failure, which is kept to this installation.
    param($Entry, [long]$MaxBytes)
    $result = @{ path = [string](Get-Field $Entry 'path'); error = $null; done = New-Object -TypeName 'Collections.Generic.List[string]' }
    $temps = @{}
    try {
        $install = Resolve-InstallFolder $result.path
        if ($null -eq $install) {
            throw (New-Refusal 'error' ('{0}: not found' -f $result.path))
        }
        # \\?\ paths reach the file system as written: a drive root (\\?\D:\)
        # is joined to a name without a second separator (TrimEnd).
        $dirs = @{ install = ConvertTo-LongPath $install; pref = $null }
        $pref = Resolve-InstallFolder ($install + '\defaults\pref')
        if ($null -ne $pref) {
            $dirs.pref = ConvertTo-LongPath $pref
        }
        $ops = Get-ListField $Entry 'ops'
        $exists = @{}
        foreach ($op in $ops) {
            $where = [string](Get-Field $op 'dir')
            $name = [string](Get-Field $op 'name')
            $action = [string](Get-Field $op 'action')
            if (-not ($where -ceq 'install' -or $where -ceq 'pref') -or $null -eq $dirs[$where] -or -not ($name -cmatch $HookNamePattern)) {
                throw (New-Refusal 'error' ("refusing to write '{0}' in '{1}'" -f $name, $where))
            }
            if (-not ($action -ceq 'write' -or $action -ceq 'remove')) {
                throw (New-Refusal 'error' ("unknown action '{0}' for {1}; nothing written" -f $action, $name))
            }
            Remove-HookTemp $dirs[$where] $name
            $exists[$where + '\' + $name] = Test-HookGuard $dirs[$where] $op $MaxBytes
        }
        foreach ($op in $ops) {
            $where = [string](Get-Field $op 'dir')
            $name = [string](Get-Field $op 'name')
            if ([string](Get-Field $op 'action') -ceq 'write') {
                $temps[$where + '\' + $name] = Get-HookTempName $dirs[$where] $name
                Write-NewFile $temps[$where + '\' + $name] ([Convert]::FromBase64String([string](Get-Field $op 'b64')))
            }
        }
        foreach ($op in $ops) {
            $where = [string](Get-Field $op 'dir')
            $name = [string](Get-Field $op 'name')
            $target = $dirs[$where].TrimEnd('\') + '\' + $name
            if ([string](Get-Field $op 'action') -ceq 'remove') {
                [IO.File]::Delete($target)
            }
            elseif ($exists[$where + '\' + $name]) {
                Invoke-HookReplace $temps[$where + '\' + $name] $target (Get-HookTempName $dirs[$where] ($name + '.old'))
            }
            else {
                [IO.File]::Move($temps[$where + '\' + $name], $target)
            }
            $temps.Remove($where + '\' + $name)
            $result.done.Add($name)
        }
    }
    catch {
        $ex = Get-InnerException $_
        $result.error = $ex.Message
        if ($ex -is [UnauthorizedAccessException]) {
            $result.error = 'access denied ({0}): only administrators can write in the installation' -f $ex.Message
        }
    }
    finally {
        # A failure here would replace the answer above; Remove-HookTemp of
        # the next run removes what is left.
        foreach ($tmp in $temps.Values) {
            try {
                [IO.File]::Delete($tmp)
            }
            catch {
                Write-Verbose ('{0} is left for the next run' -f $tmp)
            }
        }
    }
    return $result
}

function Invoke-Autoconfig {
    param($Request)
    $mode = [string](Get-Field $Request 'mode')
    if ($mode -cne 'read' -and $mode -cne 'write') {
        throw ('unknown mode {0}' -f $mode)
    }
    $maxBytes = [long](Get-Field $Request 'max_file_bytes')
    $budget = @{ left = [long](Get-Field $Request 'max_run_bytes') }
    $results = New-Object -TypeName 'Collections.Generic.List[object]'
    foreach ($entry in (Get-ListField $Request 'installations')) {
        if ($null -eq $entry) {
            continue
        }
        try {
            if ($mode -ceq 'read') {
                $results.Add((Read-Installation $entry $maxBytes $budget))
            }
            else {
                $results.Add((Invoke-InstallationWrite $entry $maxBytes))
            }
        }
        catch {
            # Kept to its own installation, whatever failed.
            $results.Add(@{ path = [string](Get-Field $entry 'path'); found = $true; error = (Get-InnerException $_).Message })
        }
    }
    return @{ protocol = $Protocol; installations = $results }
}

Invoke-Script 'autoconfig' { param($Request) Invoke-Autoconfig $Request }
