# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Backup: archive Thunderbird profiles of a Windows host with the tar.exe
# that Windows 10 (1803 and later) and 11 ship (bsdtar, libarchive, which
# writes ZIP64 zips). Windows PowerShell 5.1, run after prelude.ps1. Twin:
# tests/windows/twin_backup.py. Every decision (what to leave out, whether a
# profile changed, which archives retention removes, the manifest) is made
# on the controller by plugins/module_utils/backup.py; this script lists,
# hashes, runs tar.exe, checks and renames.
# mode 'scan': per profile, its files and folders, and the archives and
# manifests of its dest folder. mode 'write': per profile, under
# parent.lock, the archive the controller asked for, then retention.

$ArchivePattern = '^[0-9]{8}T[0-9]{6}Z\.zip$'
$ManifestPattern = '^[0-9]{8}T[0-9]{6}Z\.manifest\.json$'
# Temp files of a run: .<stamp>.zip<suffix>, .<stamp>.manifest.json<suffix>. The suffix names the
# computer: a dest that several computers share holds their temp files too, whose process ids mean nothing here.
$BackupTempSuffix = '.rectorat-' + $env:COMPUTERNAME + '-' + $PID + '.tmp'
# A name without the computer (.rectorat-<pid>.tmp, before 2026-12-06) is this computer's.
$BackupTempPattern = '^\.[0-9]{8}T[0-9]{6}Z\.(zip|manifest\.json)\.rectorat-(?:(.+)-)?([0-9]{1,9})\.tmp$'
$ManifestMember = 'rectorat-backup-manifest.json'
# The scan's answer is held in memory at about ten times its size (see collect.ps1).
$DefaultBackupBudget = @{
    max_files = 200000; max_run_files = 400000; max_manifest_bytes = 268435456; max_run_manifest_bytes = 67108864
}

function ConvertTo-UnixNs {
    # Nanoseconds since 1970 of a UTC time (.NET keeps 100 ns ticks). In
    # [decimal]: before 1677 a [long] product would turn into a [double].
    param([datetime]$Utc)
    return ([decimal]$Utc.Ticks - 621355968000000000) * 100
}

function Get-ProfileListing {
    # Files (path, size, mtime_ns) and folders of the profile, '/'-separated,
    # without the top folders of $Prune (caches: never walked). Refused on a
    # junction or symbolic link, or past $MaxFiles entries.
    param([string]$Dir, $Prune, [long]$MaxFiles)
    $files = New-Object -TypeName 'Collections.Generic.List[object]'
    $dirs = New-Object -TypeName 'Collections.Generic.List[object]'
    $stack = New-Object -TypeName 'Collections.Generic.Stack[object]'
    $stack.Push(@('', $Dir))
    while ($stack.Count -gt 0) {
        $item = $stack.Pop()
        $children = (New-Object -TypeName IO.DirectoryInfo -ArgumentList (ConvertTo-LongPath $item[1])).GetFileSystemInfos()
        $subdirs = New-Object -TypeName 'Collections.Generic.List[object]'
        foreach ($child in ($children | Sort-Object -Property Name)) {
            if ($item[0] -eq '' -and $Prune -ccontains $child.Name) {
                continue
            }
            $rel = $item[0] + $child.Name
            if (Test-ReparsePoint $child) {
                throw (New-Refusal 'error' ('refused: {0} is a symbolic link' -f $rel))
            }
            if ($child -is [IO.DirectoryInfo]) {
                $dirs.Add($rel)
                $subdirs.Add(@(($rel + '/'), ($item[1] + '\' + $child.Name)))
            }
            else {
                $files.Add(@{ path = $rel; size = $child.Length; mtime_ns = ConvertTo-UnixNs $child.LastWriteTimeUtc })
            }
            if ($files.Count + $dirs.Count -gt $MaxFiles) {
                throw (New-Refusal 'error' ('more than {0} files in the profile, or left to list in this run' -f $MaxFiles))
            }
        }
        for ($i = $subdirs.Count - 1; $i -ge 0; $i--) {
            $stack.Push($subdirs[$i])
        }
    }
    return @{ files = $files; dirs = $dirs }
}

function Get-DestFolder {
    # <dest>\<user>\<profile>, each part below dest made when $Create (else
    # $null when absent); a junction or symbolic link below dest is refused.
    # The \\?\ form takes '/' as part of a name: dest may be written with '/'.
    param([string]$Dest, $Parts, [bool]$Create)
    $current = $Dest.Replace('/', '\').TrimEnd('\')
    if (-not (New-Object -TypeName IO.DirectoryInfo -ArgumentList (ConvertTo-LongPath $current)).Exists) {
        throw (New-Refusal 'error' ('dest {0} does not exist or is not a folder' -f $Dest))
    }
    foreach ($part in $Parts) {
        $info = Get-ChildEntry $current $part
        if ($null -eq $info) {
            if (-not $Create) {
                return $null
            }
            $null = [IO.Directory]::CreateDirectory((ConvertTo-LongPath ($current + '\' + $part)))
            $current = $current + '\' + $part
            continue
        }
        if (Test-ReparsePoint $info) {
            throw (New-Refusal 'error' ('refused: {0} is a symbolic link below dest' -f $info.FullName))
        }
        if (-not ($info -is [IO.DirectoryInfo])) {
            throw (New-Refusal 'error' ('{0} in dest is not a folder' -f $info.FullName))
        }
        $current = $current + '\' + $info.Name
    }
    return $current
}

function Get-DestArchive {
    # The archives (name, size) and manifests (name, base64, or unread past
    # the budget) of this module in $Folder; nothing else is looked at.
    param([string]$Folder, $Budget)
    $archives = New-Object -TypeName 'Collections.Generic.List[object]'
    $manifests = New-Object -TypeName 'Collections.Generic.List[object]'
    if (-not $Folder) {
        return @{ archives = $archives; manifests = $manifests }
    }
    $children = (New-Object -TypeName IO.DirectoryInfo -ArgumentList (ConvertTo-LongPath $Folder)).GetFiles()
    foreach ($child in ($children | Sort-Object -Property Name -Descending)) {
        if (Test-ReparsePoint $child) {
            continue
        }
        if ($child.Name -cmatch $ArchivePattern) {
            $archives.Add(@{ name = $child.Name; size = $child.Length })
        }
        elseif ($child.Name -cmatch $ManifestPattern) {
            $record = @{ name = $child.Name; b64 = $null; unread = $true }
            if ($child.Length -le [Math]::Min($Budget.max_manifest_bytes, $Budget.manifest_left)) {
                $read = Read-RawFile $child.FullName $Budget.max_manifest_bytes
                if ($null -ne $read.data) {
                    $Budget.manifest_left -= $read.data.Length
                    $record.b64 = [Convert]::ToBase64String($read.data)
                    $record.unread = $false
                }
            }
            $manifests.Add($record)
        }
    }
    return @{ archives = $archives; manifests = $manifests }
}

function Get-ProfileScan {
    param($Entry, [string]$Dest, $Budget, $Prune)
    $result = @{ path = Get-Field $Entry 'path'; error = $null; files = $null; dirs = $null; archives = $null; manifests = $null }
    try {
        $dir = Resolve-ProfileFolder $Entry
        $listing = Get-ProfileListing $dir $Prune ([Math]::Min($Budget.max_files, $Budget.files_left))
        $Budget.files_left -= $listing.files.Count + $listing.dirs.Count
        $result.files = $listing.files
        $result.dirs = $listing.dirs
        $found = Get-DestArchive (Get-DestFolder $Dest (Get-ListField $Entry 'folder') $false) $Budget
        $result.archives = $found.archives
        $result.manifests = $found.manifests
    }
    catch {
        $result.error = (Get-InnerException $_).Message
    }
    return $result
}

function Get-FileDigest {
    # SHA-256 of a profile file read on one handle, after checking on that
    # handle its owner and that it is still what the scan listed.
    param([string]$Path, [string]$Rel, $Listed, [string]$FolderOwner)
    $stream = [IO.File]::Open((ConvertTo-LongPath $Path), [IO.FileMode]::Open, [IO.FileAccess]::Read, [IO.FileShare]::ReadWrite)
    $sha = New-Object -TypeName Security.Cryptography.SHA256CryptoServiceProvider
    try {
        $owner = Get-HandleOwner $stream
        if (Test-ForeignOwner $owner $FolderOwner) {
            throw (New-Refusal 'error' ('refused: {0} is owned by {1}, not by the owner of the profile folder ({2})' -f $Rel, $owner, $FolderOwner))
        }
        $mtime = ConvertTo-UnixNs ([IO.File]::GetLastWriteTimeUtc((ConvertTo-LongPath $Path)))
        if ($stream.Length -ne [long](Get-Field $Listed 'size') -or $mtime -ne [decimal](Get-Field $Listed 'mtime_ns')) {
            throw (New-Refusal 'error' ('{0} changed since the profile was listed; nothing written, run again' -f $Rel))
        }
        return [BitConverter]::ToString($sha.ComputeHash($stream)).Replace('-', '').ToLowerInvariant()
    }
    finally {
        $sha.Dispose()
        $stream.Dispose()
    }
}

function Get-FileSha256 {
    param([string]$Path)
    $stream = [IO.File]::Open((ConvertTo-LongPath $Path), [IO.FileMode]::Open, [IO.FileAccess]::Read, [IO.FileShare]::Read)
    $sha = New-Object -TypeName Security.Cryptography.SHA256CryptoServiceProvider
    try {
        return @{ size = $stream.Length; sha256 = [BitConverter]::ToString($sha.ComputeHash($stream)).Replace('-', '').ToLowerInvariant() }
    }
    finally {
        $sha.Dispose()
        $stream.Dispose()
    }
}

function ConvertTo-AnsiByte {
    # $Text in the ANSI code page, in which tar.exe reads its command line
    # and its list. Windows gives a program a character the page lacks as a
    # look-alike (A with a macron -> 'A': another path) or '?'; refused here instead.
    param([string]$Text, [string]$What)
    $ansi = [Text.Encoding]::GetEncoding([Text.Encoding]::Default.CodePage, [Text.EncoderFallback]::ExceptionFallback,
        [Text.DecoderFallback]::ExceptionFallback)
    try {
        return , $ansi.GetBytes($Text)
    }
    catch {
        throw (New-Refusal 'error' ('{0} cannot be given to tar.exe in code page {1}' -f $What, $ansi.CodePage))
    }
}

function Invoke-Tar {
    # Run tar.exe; its standard output is read to the end and dropped (an
    # extraction to -O is how every member's CRC is checked). The arguments
    # are quoted for the C runtime; Windows paths hold no '"'.
    param([string[]]$Arguments)
    $tar = $env:SystemRoot + '\System32\tar.exe'
    if (-not [IO.File]::Exists($tar)) {
        throw (New-Refusal 'error' ('{0} not found: Windows 10 1803 or later ships it' -f $tar))
    }
    foreach ($argument in $Arguments) {
        $null = ConvertTo-AnsiByte $argument ('the path ' + $argument)
    }
    $start = New-Object -TypeName Diagnostics.ProcessStartInfo
    $start.FileName = $tar
    $start.Arguments = (@($Arguments | ForEach-Object { '"' + $_ + '"' }) -join ' ')
    $start.UseShellExecute = $false
    $start.CreateNoWindow = $true
    $start.RedirectStandardOutput = $true
    $start.RedirectStandardError = $true
    $process = [Diagnostics.Process]::Start($start)
    try {
        $stderr = $process.StandardError.ReadToEndAsync()
        $process.StandardOutput.BaseStream.CopyTo([IO.Stream]::Null)
        $process.WaitForExit()
        if ($process.ExitCode -ne 0) {
            throw (New-Refusal 'error' ('tar.exe failed ({0}): {1}' -f $process.ExitCode, $stderr.Result.Trim()))
        }
    }
    finally {
        $process.Dispose()
    }
}

function Test-ArchiveMember {
    # The members of the zip, read from its central directory, are the
    # folders ('/' ending, as libarchive writes them), files and manifest
    # expected, with their sizes: none missing, none more.
    param([string]$Zip, $Expected)
    Add-Type -AssemblyName System.IO.Compression.FileSystem
    $left = $Expected
    $archive = [IO.Compression.ZipFile]::OpenRead((ConvertTo-LongPath $Zip))
    try {
        foreach ($member in $archive.Entries) {
            $name = $member.FullName
            if (-not $left.ContainsKey($name) -or $left[$name] -ne $member.Length) {
                throw (New-Refusal 'error' ('read back: {0} is not in the listing or has another size' -f $name))
            }
            $null = $left.Remove($name)
        }
    }
    finally {
        $archive.Dispose()
    }
    if ($left.Count -gt 0) {
        throw (New-Refusal 'error' ('read back: {0} file(s) missing from the archive' -f $left.Count))
    }
}

function Remove-StaleBackupTemp {
    # Temp files of a run of this computer that died (its process is gone),
    # then a manifest left without its archive and without a live temp file.
    # Another computer's temp files are left to it, and count as live.
    param([string]$Folder)
    $names = @((New-Object -TypeName IO.DirectoryInfo -ArgumentList (ConvertTo-LongPath $Folder)).GetFiles() | ForEach-Object { $_.Name })
    $live = @{}
    foreach ($name in $names) {
        if ($name -cmatch $BackupTempPattern) {
            # $Matches holds no key 2 when the name has no computer.
            $computer = [string]$Matches[2]
            if (($computer -cne '' -and $computer -ne $env:COMPUTERNAME) -or ([long]$Matches[3] -ne $PID -and (Test-ProcessAlive ([int]$Matches[3])))) {
                $live[$name.Substring(1, 16)] = $true
            }
            else {
                [IO.File]::Delete((ConvertTo-LongPath ($Folder + '\' + $name)))
            }
        }
    }
    foreach ($name in $names) {
        if ($name -cmatch $ManifestPattern) {
            $stamp = $name.Substring(0, 16)
            if (-not $live.ContainsKey($stamp) -and $names -cnotcontains ($stamp + '.zip')) {
                [IO.File]::Delete((ConvertTo-LongPath ($Folder + '\' + $name)))
            }
        }
    }
}

function Write-ProfileArchive {
    # Hash every file, write the manifest and the file list to $Staging, run
    # tar.exe into a temp name, check it, then rename: manifest first.
    param([string]$Dir, [string]$DestDir, $Entry, [string]$Staging, $Result)
    $manifest = Get-Field $Entry 'manifest'
    $stamp = [string](Get-Field $Entry 'stamp')
    $folderOwner = Get-FolderOwner $Dir
    $expected = New-Object -TypeName 'Collections.Generic.Dictionary[string,long]' -ArgumentList ([StringComparer]::Ordinal)
    $lines = New-Object -TypeName 'Collections.Generic.List[string]'
    foreach ($folder in (Get-ListField $manifest 'dirs')) {
        $lines.Add([string]$folder)
        $expected[[string]$folder + '/'] = 0
    }
    foreach ($file in (Get-ListField $manifest 'files')) {
        $rel = [string](Get-Field $file 'path')
        $file['sha256'] = Get-FileDigest ($Dir + '\' + $rel.Replace('/', '\')) $rel $file $folderOwner
        $expected[$rel] = [long](Get-Field $file 'size')
        $lines.Add($rel)
    }
    $lines.Add('-C')
    $lines.Add($Staging)
    $lines.Add($ManifestMember)
    $null = [IO.Directory]::CreateDirectory($Staging)
    $json = ConvertTo-Json -InputObject $manifest -Depth 8 -Compress
    $inner = (New-Object -TypeName Text.UTF8Encoding -ArgumentList $false).GetBytes($json)
    [IO.File]::WriteAllBytes($Staging + '\' + $ManifestMember, $inner)
    $expected[$ManifestMember] = $inner.Length
    # The list: one name a line; a name tar.exe cannot hold is refused, not lost.
    $listBytes = ConvertTo-AnsiByte (($lines -join "`n") + "`n") 'a file name of the profile'
    [IO.File]::WriteAllBytes($Staging + '\files.lst', $listBytes)
    $tmpZip = $DestDir + '\.' + $stamp + '.zip' + $BackupTempSuffix
    $Result.temps.Add($tmpZip)
    $store = 'store'
    if ([string](Get-Field $Entry 'compression') -eq 'deflated') {
        $store = 'deflate'
    }
    Invoke-Tar @('-c', '-n', '-f', $tmpZip, '--format', 'zip', '--options', ('zip:compression={0},zip:hdrcharset=UTF-8' -f $store),
        '-C', $Dir, '-T', ($Staging + '\files.lst'))
    Test-ArchiveMember $tmpZip $expected
    Invoke-Tar @('-x', '-O', '-f', $tmpZip)
    $made = Get-FileSha256 $tmpZip
    $manifest['archive'] = @{ name = $stamp + '.zip'; bytes = $made.size; sha256 = $made.sha256 }
    $json = ConvertTo-Json -InputObject $manifest -Depth 8 -Compress
    $tmpManifest = $DestDir + '\.' + $stamp + '.manifest.json' + $BackupTempSuffix
    $Result.temps.Add($tmpManifest)
    [IO.File]::WriteAllBytes((ConvertTo-LongPath $tmpManifest), (New-Object -TypeName Text.UTF8Encoding -ArgumentList $false).GetBytes($json))
    [IO.File]::Move((ConvertTo-LongPath $tmpManifest), (ConvertTo-LongPath ($DestDir + '\' + $stamp + '.manifest.json')))
    [IO.File]::Move((ConvertTo-LongPath $tmpZip), (ConvertTo-LongPath ($DestDir + '\' + $stamp + '.zip')))
    $Result.bytes = $made.size
    $Result.sha256 = $made.sha256
}

function Remove-OldArchive {
    # The archives (and their manifests) the controller's retention names.
    param([string]$DestDir, $Stamps, $Removed)
    foreach ($stamp in $Stamps) {
        foreach ($name in @(([string]$stamp + '.zip'), ([string]$stamp + '.manifest.json'))) {
            if (-not ($name -cmatch $ArchivePattern -or $name -cmatch $ManifestPattern)) {
                continue
            }
            $info = Get-ChildEntry $DestDir $name
            if ($null -eq $info -or (Test-ReparsePoint $info) -or $info -is [IO.DirectoryInfo]) {
                continue
            }
            [IO.File]::Delete((ConvertTo-LongPath $info.FullName))
            if ($name.EndsWith('.zip')) {
                $Removed.Add([string]$stamp)
            }
        }
    }
}

function Remove-BackupLeftover {
    # This run's temp files and staging folder. A failure here must not end
    # the run (the next run removes stale temp files); it is left as it is.
    param($Temps, [string]$Staging)
    foreach ($temp in $Temps) {
        try {
            [IO.File]::Delete((ConvertTo-LongPath $temp))
        }
        catch {
            Write-Verbose ('cannot remove {0}: {1}' -f $temp, (Get-InnerException $_).Message)
        }
    }
    try {
        if ([IO.Directory]::Exists($Staging)) {
            [IO.Directory]::Delete($Staging, $true)
        }
    }
    catch {
        Write-Verbose ('cannot remove {0}: {1}' -f $Staging, (Get-InnerException $_).Message)
    }
}

function Invoke-ProfileBackup {
    param($Entry, [string]$Dest)
    $result = @{
        path = Get-Field $Entry 'path'; status = 'done'; error = $null; bytes = $null; sha256 = $null
        removed = New-Object -TypeName 'Collections.Generic.List[string]'
        temps = New-Object -TypeName 'Collections.Generic.List[string]'
    }
    $clock = [Diagnostics.Stopwatch]::StartNew()
    $lock = $null
    $staging = [IO.Path]::GetTempPath() + 'rectorat-backup-' + $PID + '-' + [guid]::NewGuid().ToString('N')
    try {
        $dir = Resolve-ProfileFolder $Entry
        $lock = Open-ProfileLock (ConvertTo-LongPath $dir)
        $destDir = Get-DestFolder $Dest (Get-ListField $Entry 'folder') $true
        Remove-StaleBackupTemp $destDir
        if ($null -ne (Get-Field $Entry 'manifest')) {
            Write-ProfileArchive $dir $destDir $Entry $staging $result
        }
        Remove-OldArchive $destDir (Get-ListField $Entry 'remove') $result.removed
    }
    catch {
        $ex = Get-InnerException $_
        $result.status = 'error'
        if ($null -ne $ex.Data['status']) {
            $result.status = $ex.Data['status']
        }
        $result.error = $ex.Message
    }
    finally {
        Remove-BackupLeftover $result.temps $staging
        if ($null -ne $lock) {
            $lock.Dispose()
        }
    }
    $result.Remove('temps')
    $result.seconds = $clock.Elapsed.TotalSeconds
    return $result
}

function Invoke-Backup {
    param($Request)
    $budget = @{}
    foreach ($name in $DefaultBackupBudget.Keys) {
        $budget[$name] = [long]$DefaultBackupBudget[$name]
        if (Get-Field $Request $name) {
            $budget[$name] = [long](Get-Field $Request $name)
        }
    }
    $budget.manifest_left = $budget.max_run_manifest_bytes
    $budget.files_left = $budget.max_run_files
    $dest = [string](Get-Field $Request 'dest')
    $prune = Get-ListField $Request 'prune'
    $results = New-Object -TypeName 'Collections.Generic.List[object]'
    foreach ($entry in (Get-ListField $Request 'profiles')) {
        if ([string](Get-Field $Request 'mode') -eq 'scan') {
            $results.Add((Get-ProfileScan $entry $dest $budget $prune))
        }
        else {
            $results.Add((Invoke-ProfileBackup $entry $dest))
        }
    }
    return @{ protocol = $Protocol; host = $env:COMPUTERNAME; profiles = $results }
}

Invoke-Script 'backup' { param($Request) Invoke-Backup $Request }
