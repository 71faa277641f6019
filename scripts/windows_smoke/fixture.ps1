# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Throwaway profile of scripts/windows-smoke on one Windows workstation.
# Windows PowerShell 5.1. Sent and run as collect.ps1 is (see
# plugins/plugin_utils/windows_host.py). Actions:
#   create  - make the new folder "folder", put the marker file in it, then
#             each file {path (relative), data (base64), age (seconds)}
#   inspect - size, SHA-256 and, for the relative paths in "read", the bytes
#             of every file below "folder"
#   remove  - delete "folder", only if it holds the marker file
# Argument: the request, base64 of its UTF-8 JSON. Output: one line,
# "RECTORAT-TB-RESPONSE " + base64 of the UTF-8 JSON response.
param([string]$RequestB64)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$Marker = 'rectorat-tb-smoke.marker'
Add-Type -AssemblyName System.Web.Extensions
$serializer = New-Object -TypeName Web.Script.Serialization.JavaScriptSerializer
$serializer.MaxJsonLength = [int]::MaxValue
$response = @{}
try {
    $request = $serializer.DeserializeObject([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($RequestB64)))
    $folder = [string]$request['folder']
    # A drive letter and a backslash, or a UNC path ("C:x" and "\x" are relative).
    if ($folder -notmatch '^([A-Za-z]:\\|\\\\)' -or $folder.EndsWith('\')) {
        throw "not an absolute folder: $folder"
    }
    $markerPath = [IO.Path]::Combine($folder, $Marker)
    switch ([string]$request['action']) {
        'create' {
            if ([IO.Directory]::Exists($folder) -or [IO.File]::Exists($folder)) {
                throw "$folder already exists"
            }
            [void][IO.Directory]::CreateDirectory($folder)
            [IO.File]::WriteAllBytes($markerPath, [byte[]]@())
            $entries = $request['files']
            if ($null -eq $entries) {
                $entries = @()
            }
            foreach ($entry in $entries) {
                $rel = [string]$entry['path']
                if ($rel -match '^[\\/]|:|(^|[\\/])\.\.([\\/]|$)') {
                    throw "not a path inside the folder: $rel"
                }
                $target = [IO.Path]::Combine($folder, $rel)
                [void][IO.Directory]::CreateDirectory([IO.Path]::GetDirectoryName($target))
                [IO.File]::WriteAllBytes($target, [Convert]::FromBase64String([string]$entry['data']))
                [IO.File]::SetLastWriteTimeUtc($target, [DateTime]::UtcNow.AddSeconds(0 - [int]$entry['age']))
            }
            $response['created'] = $folder
        }
        'inspect' {
            $read = @($request['read'])
            $sha = New-Object -TypeName Security.Cryptography.SHA256CryptoServiceProvider
            $files = New-Object -TypeName Collections.ArrayList
            foreach ($path in [IO.Directory]::GetFiles($folder, '*', [IO.SearchOption]::AllDirectories)) {
                $bytes = [IO.File]::ReadAllBytes($path)
                $rel = $path.Substring($folder.Length + 1)
                $file = @{ path = $rel; size = $bytes.Length; sha256 = [BitConverter]::ToString($sha.ComputeHash($bytes)).Replace('-', '').ToLowerInvariant() }
                if ($read -contains $rel) {
                    $file['data'] = [Convert]::ToBase64String($bytes)
                }
                [void]$files.Add($file)
            }
            $sha.Dispose()
            $response['files'] = $files
        }
        'remove' {
            if (-not [IO.File]::Exists($markerPath)) {
                throw ('{0} does not hold {1}, not removed' -f $folder, $Marker)
            }
            [IO.Directory]::Delete($folder, $true)
            $response['removed'] = -not [IO.Directory]::Exists($folder)
        }
        default {
            throw "unknown action"
        }
    }
}
catch {
    $response = @{ fatal = 'fixture.ps1: ' + $_.Exception.Message }
}
$response['protocol'] = 1
'RECTORAT-TB-RESPONSE ' + [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($serializer.Serialize($response)))
